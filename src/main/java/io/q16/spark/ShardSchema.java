package io.q16.spark;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The Parquet schema of int16 shards: one row per chunk.
 *
 * <pre>
 *   tensor       string, required   source tensor name
 *   chunk        int32,  required   chunk index within the tensor (0, 1, ...)
 *   offset       int64,  required   first element of the chunk, row-major
 *   count        int32,  required   elements in the chunk
 *   codes        binary, required   count int16 codes, little-endian
 *   scales       binary, optional   float32 LE per channel/group of the chunk; null: per tensor
 *   zero_points  binary, optional   int32 LE per channel/group of the chunk; null: per tensor
 * </pre>
 *
 * Codes are one binary value rather than a list of int16: a list costs a repetition level per
 * element and a boxed conversion in Spark, while bytes are written and read as one copy, checksum
 * directly, and map to numpy with {@code np.frombuffer(b, "<i2")}.
 */
final class ShardSchema {
  static final String TENSOR = "tensor";
  static final String CHUNK = "chunk";
  static final String OFFSET = "offset";
  static final String COUNT = "count";
  static final String CODES = "codes";
  static final String SCALES = "scales";
  static final String ZERO_POINTS = "zero_points";

  static final StructType SCHEMA =
      new StructType(
          new StructField[] {
            DataTypes.createStructField(TENSOR, DataTypes.StringType, false),
            DataTypes.createStructField(CHUNK, DataTypes.IntegerType, false),
            DataTypes.createStructField(OFFSET, DataTypes.LongType, false),
            DataTypes.createStructField(COUNT, DataTypes.IntegerType, false),
            DataTypes.createStructField(CODES, DataTypes.BinaryType, false),
            DataTypes.createStructField(SCALES, DataTypes.BinaryType, true),
            DataTypes.createStructField(ZERO_POINTS, DataTypes.BinaryType, true),
          });

  private ShardSchema() {}
}
