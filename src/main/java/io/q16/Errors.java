package io.q16;

import io.q16.Q16Exception.Kind;

/**
 * The one place error messages are worded, so that every message names the file, the object
 * (tensor, offset), what was expected and what was found.
 */
public final class Errors {
  private Errors() {}

  public static Q16Exception badFile(String file, String what) {
    return new Q16Exception(Kind.BAD_INPUT, file + ": " + what);
  }

  public static Q16Exception badFile(String file, String what, Throwable cause) {
    return new Q16Exception(Kind.BAD_INPUT, file + ": " + what, cause);
  }

  public static Q16Exception badTensor(String file, String tensor, String what) {
    return new Q16Exception(Kind.BAD_INPUT, file + ": tensor '" + printable(tensor) + "': " + what);
  }

  /**
   * {@code name} as it can be printed on one line: control characters and unpaired surrogates
   * (names come from files) become Java-style escapes (backslash, 'u', four hex digits); everything
   * else stays as it is.
   */
  public static String printable(String name) {
    StringBuilder b = new StringBuilder(name.length());
    boolean changed = false;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < name.length() && Character.isLowSurrogate(name.charAt(i + 1))) {
        b.append(c).append(name.charAt(++i));
      } else if (Character.isSurrogate(c) || Character.isISOControl(c)) {
        b.append(String.format("\\u%04x", (int) c));
        changed = true;
      } else {
        b.append(c);
      }
    }
    return changed ? b.toString() : name;
  }

  public static Q16Exception missing(String file) {
    return new Q16Exception(Kind.BAD_INPUT, file + ": no such file");
  }

  public static Q16Exception truncated(String file, long offset, long need, long size) {
    return new Q16Exception(
        Kind.BAD_INPUT,
        file + ": truncated: needs " + need + " bytes at offset " + offset + " but the file has "
            + size + " bytes");
  }

  public static Q16Exception usage(String what) {
    return new Q16Exception(Kind.USAGE, what);
  }

  public static Q16Exception output(String dir, String what) {
    return new Q16Exception(Kind.OUTPUT, dir + ": " + what);
  }

  public static Q16Exception output(String dir, String what, Throwable cause) {
    return new Q16Exception(Kind.OUTPUT, dir + ": " + what, cause);
  }
}
