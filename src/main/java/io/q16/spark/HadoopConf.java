package io.q16.spark;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * The driver's Hadoop configuration, shipped to executors as plain strings so that it survives
 * both Java and Kryo serialization (a {@link Configuration} itself survives neither).
 */
public final class HadoopConf implements Serializable {
  private static final long serialVersionUID = 1L;

  private final HashMap<String, String> entries = new HashMap<>();
  private transient Configuration conf;

  public HadoopConf(Configuration conf) {
    for (Map.Entry<String, String> e : conf) {
      entries.put(e.getKey(), e.getValue());
    }
  }

  /** The configuration, rebuilt once per JVM that deserialized this object. */
  public synchronized Configuration get() {
    if (conf == null) {
      Configuration c = new Configuration(false);
      entries.forEach(c::set);
      conf = c;
    }
    return conf;
  }
}
