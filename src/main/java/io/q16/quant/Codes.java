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

  private static final VarHandle FLOAT_LE =
      MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT_LE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  /** Offset between int16 codes and their uint16 storage (q + 32768: flips the sign bit). */
  public static final int UNSIGNED_OFFSET = 32768;

  /** Writes {@code q[0..n)} to {@code out[0..2n)}; unsigned storage writes q + 32768. */
  public static void pack(short[] q, int n, byte[] out, boolean unsigned) {
    Objects.checkFromIndexSize(0, n, q.length);
    Objects.checkFromIndexSize(0, 2 * n, out.length);
    short flip = unsigned ? (short) 0x8000 : 0;
    for (int i = 0; i < n; i++) {
      SHORT_LE.set(out, 2 * i, (short) (q[i] ^ flip));
    }
  }

  /** Reads {@code n} codes from {@code bytes[0..2n)} into {@code q[0..n)}, undoing unsigned storage. */
  public static void unpack(byte[] bytes, short[] q, int n, boolean unsigned) {
    Objects.checkFromIndexSize(0, 2 * n, bytes.length);
    Objects.checkFromIndexSize(0, n, q.length);
    short flip = unsigned ? (short) 0x8000 : 0;
    for (int i = 0; i < n; i++) {
      q[i] = (short) ((short) SHORT_LE.get(bytes, 2 * i) ^ flip);
    }
  }

  /** Little-endian float32 bytes of {@code v}. */
  public static byte[] floats(float[] v) {
    byte[] out = new byte[4 * v.length];
    for (int i = 0; i < v.length; i++) {
      FLOAT_LE.set(out, 4 * i, v[i]);
    }
    return out;
  }

  /** Little-endian int32 bytes of {@code v + offset}. */
  public static byte[] ints(int[] v, int offset) {
    byte[] out = new byte[4 * v.length];
    for (int i = 0; i < v.length; i++) {
      INT_LE.set(out, 4 * i, v[i] + offset);
    }
    return out;
  }

  public static float[] floats(byte[] b) {
    float[] out = new float[b.length / 4];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) FLOAT_LE.get(b, 4 * i);
    }
    return out;
  }

  public static int[] ints(byte[] b, int offset) {
    int[] out = new int[b.length / 4];
    for (int i = 0; i < out.length; i++) {
      out[i] = (int) INT_LE.get(b, 4 * i) + offset;
    }
    return out;
  }
}
