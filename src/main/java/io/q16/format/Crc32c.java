package io.q16.format;

/**
 * CRC-32C combination: the CRC of A followed by B from crc(A), crc(B) and len(B).
 *
 * <p>Executors checksum their chunks with the JDK's {@link java.util.zip.CRC32C}; the driver
 * combines them in element order, so a tensor's checksum is the CRC of its whole byte range and
 * does not depend on how it was chunked. This is zlib's {@code crc32_combine} (GF(2) matrix
 * powers of the CRC shift operator) with the Castagnoli polynomial.
 */
public final class Crc32c {
  private static final int POLY = 0x82F63B78; // reflected Castagnoli polynomial

  private Crc32c() {}

  /** CRC-32C of the concatenation A·B, given crc(A), crc(B) and the length of B in bytes. */
  public static int combine(int crcA, int crcB, long lenB) {
    if (lenB <= 0) {
      return crcA;
    }
    int[] even = new int[32];
    int[] odd = new int[32];
    odd[0] = POLY; // operator for one zero bit
    int row = 1;
    for (int n = 1; n < 32; n++) {
      odd[n] = row;
      row <<= 1;
    }
    square(even, odd); // two zero bits
    square(odd, even); // four zero bits
    int crc = crcA;
    long len = lenB;
    do {
      square(even, odd); // apply one zero byte, then two, four, ...
      if ((len & 1) != 0) {
        crc = times(even, crc);
      }
      len >>>= 1;
      if (len == 0) {
        break;
      }
      square(odd, even);
      if ((len & 1) != 0) {
        crc = times(odd, crc);
      }
      len >>>= 1;
    } while (len != 0);
    return crc ^ crcB;
  }

  private static int times(int[] mat, int vec) {
    int sum = 0;
    for (int i = 0; vec != 0; i++, vec >>>= 1) {
      if ((vec & 1) != 0) {
        sum ^= mat[i];
      }
    }
    return sum;
  }

  private static void square(int[] square, int[] mat) {
    for (int n = 0; n < 32; n++) {
      square[n] = times(mat, mat[n]);
    }
  }

  /** Lower-case hex of a CRC, as written in manifests. */
  public static String hex(int crc) {
    return String.format("%08x", crc);
  }
}
