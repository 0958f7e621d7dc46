package io.q16.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class Crc32cTest {
  private static int crc(byte[] b, int off, int len) {
    CRC32C c = new CRC32C();
    c.update(b, off, len);
    return (int) c.getValue();
  }

  @Test
  void combiningChunkCrcsEqualsTheCrcOfTheWhole() {
    Random r = new Random(42);
    for (int trial = 0; trial < 200; trial++) {
      byte[] data = new byte[1 + r.nextInt(5000)];
      r.nextBytes(data);
      int whole = crc(data, 0, data.length);
      int acc = 0;
      long accLen = 0;
      int off = 0;
      while (off < data.length) {
        int len = Math.min(data.length - off, 1 + r.nextInt(700));
        int part = crc(data, off, len);
        acc = accLen == 0 ? part : Crc32c.combine(acc, part, len);
        accLen += len;
        off += len;
      }
      assertThat(acc).isEqualTo(whole);
    }
  }

  @Test
  void emptySecondPartChangesNothing() {
    assertThat(Crc32c.combine(0x12345678, 0, 0)).isEqualTo(0x12345678);
    assertThat(Crc32c.hex(0xAB)).isEqualTo("000000ab");
  }
}
