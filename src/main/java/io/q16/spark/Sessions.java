package io.q16.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** The SparkSession of a command: whatever spark-submit configured, local mode otherwise. */
public final class Sessions {
  private Sessions() {}

  public static SparkSession get(String appName) {
    SparkConf conf = new SparkConf();
    SparkSession.Builder b = SparkSession.builder().appName(appName);
    if (!conf.contains("spark.master")) {
      // Started without spark-submit (an IDE, a test): run in this JVM on every core.
      b.master("local[*]");
    }
    return b.getOrCreate();
  }
}
