package io.q16.format;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.List;

/**
 * {@code calibration.json}: per-tensor clipping thresholds chosen from exact, mergeable statistics,
 * versioned so that scheduled re-quantization can reuse or refresh it ({@code quantize --calibration}).
 *
 * <p>Each tensor records the method, the threshold T (symmetric: |x| above T clips), max|x|, the
 * histogram resolution the search used ({@code bins}, {@code binWidth}) and how many bins fit in
 * one int16 quantization step at T ({@code binsPerInt16Step}): below 1 the histogram cannot see
 * int16 rounding error and an MSE or KL search aimed at int16 cannot discriminate.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Calibration(
    String format, int formatVersion, String createdAt, String source, String sourceFingerprint, String method,
    Double percentile, int bins, String scheme, String klProfile, List<Entry> tensors) {

  public static final String FORMAT = "q16-calibration";
  /**
   * 2: measured candidates, scheme, KL profile, ranges. 3: asymmetric percentile entries clip to
   * [clipMin, clipMax] (T is only their summary), so a Q16 that reads at most version 2 must refuse
   * the file rather than clip at [-T, T]. Versions 1 and 2 still read.
   */
  public static final int FORMAT_VERSION = 3;
  public static final String FILE_NAME = "calibration.json";

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();

  /**
   * One tensor's calibration: the chosen method's threshold T (or, for the asymmetric scheme's
   * percentile, the range [clipMin, clipMax] it keeps, with T = max(|clipMin|, |clipMax|)), the finite range, the measured
   * error of quantizing with T ({@code mse}, {@code sqnrDb}: null when exact; clipped fraction),
   * every method's candidate with its measured error, the search resolution, and a note when the
   * resolution limits a method.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Entry(String name, String method, float threshold, float absmax, double clippedFraction, int bins,
      double binWidth, Double objective, double binsPerInt16Step, String note, Float min, Float max, Long count,
      Double mse, Double sqnrDb, String resolution, List<Candidate> candidates, Channels channels, Float clipMin,
      Float clipMax) {}

  /**
   * Per-channel ranges along {@code axis} (calibrate --granularity channel): quantize per channel
   * clips each channel's range at the tensor's threshold, so channel c gets
   * min(T, max(|min[c]|, |max[c]|)).
   */
  public record Channels(int axis, float[] min, float[] max) {}

  /** One method's threshold for a tensor and its error measured on the data (exact sums). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Candidate(String method, float threshold, double mse, Double sqnrDb, long clipped, Float clipMin,
      Float clipMax) {}

  public byte[] toJson() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Calibration fromJson(byte[] json) throws IOException {
    return JSON.readValue(json, Calibration.class);
  }

  /** Entries by name: one map for many look-ups. */
  public java.util.Map<String, Entry> byName() {
    java.util.Map<String, Entry> out = new java.util.HashMap<>();
    for (Entry e : tensors) {
      out.put(e.name(), e);
    }
    return out;
  }

  public Entry tensor(String name) {
    for (Entry e : tensors) {
      if (e.name().equals(name)) {
        return e;
      }
    }
    return null;
  }
}
