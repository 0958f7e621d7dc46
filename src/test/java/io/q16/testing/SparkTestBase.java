package io.q16.testing;

import com.holdenkarau.spark.testing.JavaDataFrameSuiteBase;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.BeforeEach;

/**
 * One SparkContext and SparkSession for every test class in the JVM (spark-testing-base keeps it
 * in a static; Surefire reuses one fork). local[2] with tiny chunks in the tests, so several
 * partitions, merges and commits really happen.
 *
 * <p>spark-testing-base's lifecycle methods carry JUnit 4 annotations, which JUnit 5 ignores:
 * {@link #runBefore()} is called here; the context lives until the JVM exits.
 */
public abstract class SparkTestBase extends JavaDataFrameSuiteBase {
  @Override
  public SparkConf conf() {
    return new SparkConf()
        .setMaster("local[2]")
        .setAppName("q16-tests")
        .set("spark.ui.enabled", "false")
        .set("spark.ui.showConsoleProgress", "false")
        .set("spark.sql.shuffle.partitions", "2")
        .set("spark.driver.host", "127.0.0.1")
        .set("spark.app.id", "q16-tests")
        // Users often run Kryo: every broadcast must survive it, so the tests run with it.
        .set("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
  }

  @Override
  public boolean enableHiveSupport() {
    return false;
  }

  @BeforeEach
  public void startSpark() {
    runBefore();
  }
}
