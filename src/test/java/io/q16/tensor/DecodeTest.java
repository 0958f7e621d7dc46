package io.q16.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class DecodeTest {
  /** binary16 by its definition: (-1)^s · 2^(e-15) · (1 + m/1024), subnormal 2^-14 · m/1024. */
  private static double halfByDefinition(int bits) {
    int s = (bits >>> 15) & 1;
    int e = (bits >>> 10) & 0x1F;
    int m = bits & 0x3FF;
    double sign = s == 1 ? -1 : 1;
    if (e == 0x1F) {
      return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
    }
    if (e == 0) {
      return sign * Math.scalb(m / 1024.0, -14);
    }
    return sign * Math.scalb(1 + m / 1024.0, e - 15);
  }

  @Test
  void everyHalfDecodesExactly() {
    byte[] all = new byte[2 * 65536];
    ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 65536; i++) {
      b.putShort((short) i);
    }
    float[] out = new float[65536];
    Decode.toFloat(DType.F16, all, 0, out, 0, 65536);
    for (int i = 0; i < 65536; i++) {
      double want = halfByDefinition(i);
      if (Double.isNaN(want)) {
        assertThat(out[i]).as("bits %04x", i).isNaN();
      } else {
        assertThat((double) out[i]).as("bits %04x", i).isEqualTo(want);
        // The sign of zero survives.
        assertThat(Float.floatToRawIntBits(out[i]) >>> 31).isEqualTo(i >>> 15);
      }
    }
  }

  @Test
  void bf16IsTheHighHalfOfFloat32() {
    float[] values = {0f, -0f, 1f, -2.5f, 3.0e38f, Float.MIN_NORMAL, Float.NEGATIVE_INFINITY, 0.0078125f};
    ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
    }
    float[] out = new float[values.length];
    Decode.toFloat(DType.BF16, b.array(), 0, out, 0, values.length);
    for (int i = 0; i < values.length; i++) {
      int truncated = Float.floatToRawIntBits(values[i]) & 0xFFFF0000;
      assertThat(Float.floatToRawIntBits(out[i])).isEqualTo(truncated);
    }
  }

  @Test
  void f64RoundsToNearestFloatAndF32IsBitExact() {
    double[] d = {0.1, -1e-300, 1e300, 1.0000000596046448}; // last: exactly between two floats
    ByteBuffer b = ByteBuffer.allocate(8 * d.length).order(ByteOrder.LITTLE_ENDIAN);
    for (double v : d) {
      b.putDouble(v);
    }
    float[] out = new float[d.length];
    Decode.toFloat(DType.F64, b.array(), 0, out, 0, d.length);
    assertThat(out[0]).isEqualTo(0.1f);
    assertThat(Float.floatToRawIntBits(out[1])).isEqualTo(Float.floatToRawIntBits(-0f));
    assertThat(out[2]).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(out[3]).isEqualTo(1f); // tie to even

    int[] bits = {0x7FC00001, 0x00000001, 0x80000000, 0x7F7FFFFF};
    ByteBuffer f = ByteBuffer.allocate(4 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : bits) {
      f.putInt(v);
    }
    float[] got = new float[bits.length];
    Decode.toFloat(DType.F32, f.array(), 0, got, 0, bits.length);
    for (int i = 0; i < bits.length; i++) {
      assertThat(Float.floatToRawIntBits(got[i])).isEqualTo(bits[i]);
    }
  }

  @Test
  void f32KeepsEveryBitPatternAtAnyOffset() {
    java.util.SplittableRandom r = new java.util.SplittableRandom(3);
    int[] specials = {0x7F800001, 0xFF800001, 0x7FBFFFFF, 0x7FC00000, 0xFFFFFFFF, 0x80000000, 0x00000001, 0x7F800000};
    for (int trial = 0; trial < 200; trial++) {
      int n = r.nextInt(3000);
      int srcOff = r.nextInt(9);
      int dstOff = r.nextInt(9);
      int[] bits = new int[n];
      ByteBuffer b = ByteBuffer.allocate(srcOff + 4 * n + 3).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        bits[i] = r.nextInt(4) == 0 ? specials[r.nextInt(specials.length)] : r.nextInt();
        b.putInt(srcOff + 4 * i, bits[i]);
      }
      float[] out = new float[dstOff + n + 2];
      Decode.toFloat(DType.F32, b.array(), srcOff, out, dstOff, n);
      for (int i = 0; i < n; i++) {
        assertThat(Float.floatToRawIntBits(out[dstOff + i])).as("trial %d element %d", trial, i).isEqualTo(bits[i]);
      }
      assertThat(Float.floatToRawIntBits(out[dstOff + n])).isZero();
    }
  }
}
