package io.q16.spark;

import io.q16.quant.ErrorStats;
import io.q16.quant.Codes;
import io.q16.quant.GranularKernel;
import io.q16.quant.LinearKernel;
import io.q16.quant.QuantParams;
import io.q16.quant.TensorSpec;
import io.q16.tensor.DType;
import java.io.Serializable;
import java.util.Iterator;
import java.util.Map;
import java.util.zip.CRC32C;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;

/**
 * Executor side of verify: for each shard row, read the same elements from the source, dequantize
 * the codes and measure the error; also checksum the codes so the driver can compare them with the
 * manifest.
 */
final class VerifyFunction implements MapPartitionsFunction<Row, VerifyRow> {
  private static final long serialVersionUID = 1L;

  /** Where a tensor's source bytes are and how its codes dequantize (a class: Kryo cannot do records). */
  static final class TensorRef implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String file;
    private final long dataStart;
    private final String dtype;
    private final QuantParams params;
    private final TensorSpec spec;

    /**
     * @param params the per-tensor parameters, or null when they are per unit (in the rows)
     * @param spec layout and storage of the codes
     */
    TensorRef(String file, long dataStart, String dtype, QuantParams params, TensorSpec spec) {
      this.file = file;
      this.dataStart = dataStart;
      this.dtype = dtype;
      this.params = params;
      this.spec = spec;
    }

    TensorSpec spec() {
      return spec;
    }

    String file() {
      return file;
    }

    long dataStart() {
      return dataStart;
    }

    String dtype() {
      return dtype;
    }

    QuantParams params() {
      return params;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof TensorRef r && file.equals(r.file) && dataStart == r.dataStart && dtype.equals(r.dtype)
          && java.util.Objects.equals(params, r.params) && spec.equals(r.spec);
    }

    @Override
    public int hashCode() {
      return file.hashCode() * 31 + Long.hashCode(dataStart);
    }
  }

  private final Broadcast<HadoopConf> conf;
  private final Broadcast<Map<String, TensorRef>> tensors;

  VerifyFunction(Broadcast<HadoopConf> conf, Broadcast<Map<String, TensorRef>> tensors) {
    this.conf = conf;
    this.tensors = tensors;
  }

  @Override
  public Iterator<VerifyRow> call(Iterator<Row> rows) {
    ChunkSource source = ChunkSource.forTask(conf.value().get());
    Map<String, TensorRef> refs = tensors.value();
    CRC32C crc = new CRC32C();
    return new Iterator<>() {
      private short[] codes = new short[0];
      private float[] xhat = new float[0];

      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public VerifyRow next() {
        Row row = rows.next();
        String name = row.getString(0);
        int chunk = row.getInt(1);
        long offset = row.getLong(2);
        int n = row.getInt(3);
        byte[] bytes = (byte[]) row.get(4);
        crc.reset();
        crc.update(bytes);
        TensorRef ref = refs.get(name);
        ErrorStats stats = new ErrorStats();
        if (ref != null && bytes.length == 2 * n) {
          ChunkTask read = new ChunkTask();
          read.setTensor(name);
          read.setFile(ref.file());
          read.setDtype(ref.dtype());
          read.setCount(n);
          read.setByteOffset(ref.dataStart() + offset * DType.valueOf(ref.dtype()).size());
          float[] x = source.readFloats(read);
          if (codes.length < n) {
            codes = new short[n];
            xhat = new float[n];
          }
          TensorSpec spec = ref.spec();
          Codes.unpack(bytes, codes, n, spec.unsigned());
          byte[] rowScales = (byte[]) row.get(5);
          if (spec.nonlinear() != null) {
            spec.nonlinear().decode(codes, 0, xhat, 0, n);
            stats.update(x, xhat, 0, n, spec.nonlinear());
          } else if (rowScales == null) {
            LinearKernel.dequantize(codes, 0, xhat, 0, n, ref.params());
            stats.update(x, xhat, 0, n, ref.params());
          } else {
            float[] scales = Codes.floats(rowScales);
            int[] zps = Codes.ints((byte[]) row.get(6), spec.unsigned() ? -Codes.UNSIGNED_OFFSET : 0);
            long base = spec.localUnits() ? spec.layout().unitOf(offset) : 0;
            GranularKernel.dequantize(codes, 0, xhat, 0, n, offset, spec.layout(), scales, zps, base);
            int qmin = spec.scheme().qmin();
            int qmax = spec.scheme().qmax();
            long e = offset;
            for (int i = 0; i < n; ) {
              int u = (int) (spec.layout().unitOf(e) - base);
              int run = (int) Math.min(n - i, spec.layout().runEnd(e) - e);
              stats.update(x, xhat, i, run, scales[u], zps[u], qmin, qmax);
              i += run;
              e += run;
            }
          }
        }
        return new VerifyRow(name, chunk, offset, bytes.length / 2, (int) crc.getValue(), stats);
      }
    };
  }
}
