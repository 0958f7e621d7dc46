package io.q16.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.q16.Units;
import io.q16.format.Model;
import io.q16.format.ModelReader;
import io.q16.tensor.DType;
import io.q16.tensor.TensorInfo;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code q16 inspect MODEL}: the tensors of a model, from its headers only. */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    description = {
      "List a model's tensors (name, dtype, shape, bytes) and totals, reading headers only.",
      "",
      "MODEL is a .safetensors file, a sharded model's *.safetensors.index.json, or a directory"
          + " holding one; any Hadoop path (file://, hdfs://, s3a://).",
      ""
    })
final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "MODEL", description = "The model to inspect.")
  String model;

  @Option(names = "--json", description = "Print JSON instead of a table.")
  boolean json;

  @picocli.CommandLine.Mixin ConfigOption config;

  @Override
  public Integer call() throws Exception {
    Model m = ModelReader.read(model, new Configuration());
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("model", model);
      doc.put("files", m.files());
      doc.put("tensors", m.tensors().stream().map(t -> Map.of(
          "name", t.name(), "dtype", t.dtype().name(), "shape", t.shape(),
          "bytes", t.byteLength(), "file", t.file(), "offset", t.dataStart())).toList());
      doc.put("totalBytes", m.totalBytes());
      out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
      return 0;
    }
    printTable(m, out);
    return 0;
  }

  private void printTable(Model m, PrintWriter out) {
    List<TensorInfo> ts = m.tensors();
    int nameWidth = Math.max(6, ts.stream().mapToInt(t -> t.name().length()).max().orElse(6));
    String row = "%-" + nameWidth + "s  %-7s  %-20s  %14s%n";
    out.printf(row, "tensor", "dtype", "shape", "bytes");
    Map<DType, long[]> byType = new EnumMap<>(DType.class);
    for (TensorInfo t : ts) {
      out.printf(row, t.name(), t.dtype(), Arrays.toString(t.shape()), String.format("%,d", t.byteLength()));
      long[] acc = byType.computeIfAbsent(t.dtype(), k -> new long[3]);
      acc[0]++;
      acc[1] += t.elements();
      acc[2] += t.byteLength();
    }
    out.println();
    out.printf("%s: %s, %s, %s elements, %s (%,d bytes of tensor data)%n",
        model, Units.count(m.files().size(), "file"), Units.count(ts.size(), "tensor"),
        String.format("%,d", byType.values().stream().mapToLong(a -> a[1]).sum()),
        Units.bytes(m.totalBytes()), m.totalBytes());
    byType.forEach((d, a) -> out.printf("  %-7s %12s  %,16d elements  %10s  %s%n", d, Units.count(a[0], "tensor"), a[1],
        Units.bytes(a[2]), switch (d.kind()) {
          case FLOAT -> "quantized to int16";
          case INTEGER -> "kept (integer)";
          case UNSUPPORTED -> "not supported";
        }));
  }
}
