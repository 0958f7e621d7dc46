package io.q16.cli;

import picocli.CommandLine.Option;

/** {@code --config FILE}: read by {@link ConfigDefaults} before parsing; declared so it parses. */
final class ConfigOption {
  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Option defaults (properties: option = value, or command.option = value).")
  String config;
}
