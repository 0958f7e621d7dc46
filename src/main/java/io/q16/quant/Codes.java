package io.q16.quant;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

/** int16 codes to and from their stored form: little-endian bytes, two per code. */
public final class Codes {
  private static final VarHandle SHORT_LE =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

  private Codes() {}

  /** Writes {@code q[0..n)} to {@code out[0..2n)}. */
  public static void pack(short[] q, int n, byte[] out) {
    Objects.checkFromIndexSize(0, n, q.length);
    Objects.checkFromIndexSize(0, 2 * n, out.length);
    for (int i = 0; i < n; i++) {
      SHORT_LE.set(out, 2 * i, q[i]);
    }
  }

  /** Reads {@code n} codes from {@code bytes[0..2n)} into {@code q[0..n)}. */
  public static void unpack(byte[] bytes, short[] q, int n) {
    Objects.checkFromIndexSize(0, 2 * n, bytes.length);
    Objects.checkFromIndexSize(0, n, q.length);
    for (int i = 0; i < n; i++) {
      q[i] = (short) SHORT_LE.get(bytes, 2 * i);
    }
  }
}
