package io.q16.tensor;

import java.util.Locale;

/**
 * Element types of the safetensors format, with their byte size and what Q16 does with them.
 *
 * <p>Names are the safetensors spellings ("F32", "BF16", ...). Float types are read as float32 and
 * quantized; integer and boolean types are carried by the source model and listed as skipped.
 */
public enum DType {
  F64(8, Kind.FLOAT),
  F32(4, Kind.FLOAT),
  F16(2, Kind.FLOAT),
  BF16(2, Kind.FLOAT),
  I64(8, Kind.INTEGER),
  I32(4, Kind.INTEGER),
  I16(2, Kind.INTEGER),
  I8(1, Kind.INTEGER),
  U64(8, Kind.INTEGER),
  U32(4, Kind.INTEGER),
  U16(2, Kind.INTEGER),
  U8(1, Kind.INTEGER),
  BOOL(1, Kind.INTEGER),
  // 8-bit floats are already coarser than int16: re-quantizing them would invent precision.
  F8_E4M3(1, Kind.UNSUPPORTED),
  F8_E5M2(1, Kind.UNSUPPORTED);

  /** What Q16 does with a tensor of this type. */
  public enum Kind { FLOAT, INTEGER, UNSUPPORTED }

  private final int size;
  private final Kind kind;

  DType(int size, Kind kind) {
    this.size = size;
    this.kind = kind;
  }

  /** Bytes per element. */
  public int size() {
    return size;
  }

  public Kind kind() {
    return kind;
  }

  /** True for the float types Q16 reads as float32 and quantizes. */
  public boolean quantizable() {
    return kind == Kind.FLOAT;
  }

  /** The dtype spelled {@code name} in a safetensors header, or null if Q16 does not know it. */
  public static DType fromSafetensors(String name) {
    if (name == null) {
      return null;
    }
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
