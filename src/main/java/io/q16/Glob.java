package io.q16;

import java.util.regex.Pattern;

/** Tensor-name globs as the CLI takes them: '*' any run of characters, '?' one; the rest literal. */
public final class Glob {
  private Glob() {}

  public static Pattern compile(String glob) {
    StringBuilder re = new StringBuilder();
    for (char c : glob.toCharArray()) {
      re.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
    }
    return Pattern.compile(re.toString(), Pattern.DOTALL);
  }
}
