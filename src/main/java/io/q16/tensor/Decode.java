package io.q16.tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Little-endian element decoding into float32: the one place source bytes become numbers.
 *
 * <p>All conversions are exact except F64, which rounds to the nearest float32 (ties to even) as a
 * Java {@code (float)} cast does. F16 and BF16 subnormals, infinities and NaN are preserved.
 */
public final class Decode {
  private static final VarHandle F64 =
      MethodHandles.byteArrayViewVarHandle(double[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle U16 =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

  private Decode() {}

  /** Decodes {@code n} elements of {@code dtype} from {@code src[srcOff..]} into {@code dst[dstOff..]}. */
  public static void toFloat(DType dtype, byte[] src, int srcOff, float[] dst, int dstOff, int n) {
    java.util.Objects.checkFromIndexSize(srcOff, n * dtype.size(), src.length);
    java.util.Objects.checkFromIndexSize(dstOff, n, dst.length);
    switch (dtype) {
      case F32 -> {
        // A bulk copy of the bytes (a memcpy on little-endian machines, a byte swap elsewhere):
        // every bit pattern, NaN payloads included, arrives unchanged.
        ByteBuffer.wrap(src, srcOff, 4 * n).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(dst, dstOff, n);
      }
      case F64 -> {
        for (int i = 0; i < n; i++) {
          dst[dstOff + i] = (float) (double) F64.get(src, srcOff + 8 * i);
        }
      }
      case BF16 -> {
        // bfloat16 is the high half of a float32.
        for (int i = 0; i < n; i++) {
          int bits = ((short) U16.get(src, srcOff + 2 * i)) & 0xFFFF;
          dst[dstOff + i] = Float.intBitsToFloat(bits << 16);
        }
      }
      case F16 -> {
        for (int i = 0; i < n; i++) {
          dst[dstOff + i] = halfToFloat((short) U16.get(src, srcOff + 2 * i));
        }
      }
      default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
    }
  }

  /** IEEE 754 binary16 to binary32, exact (Java 17 has no Float.float16ToFloat). */
  public static float halfToFloat(short h) {
    int bits = h & 0xFFFF;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1F;
    int mant = bits & 0x3FF;
    if (exp == 0x1F) {
      // Inf keeps a zero mantissa; NaN keeps its payload in the high mantissa bits.
      return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      // Subnormal half: mant * 2^-24, exactly representable as a normal float.
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }
}
