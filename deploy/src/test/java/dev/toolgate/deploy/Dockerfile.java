package dev.toolgate.deploy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Dockerfile read the way BuildKit reads it, as far as the checks need: line continuations, comments, stages
 * ({@code FROM image AS name}), instructions with their {@code --flag=value} options, exec-form (JSON) arguments,
 * {@code ENV} pairs. Nothing is built.
 */
final class Dockerfile {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern FLAG = Pattern.compile("^--([a-z-]+)(?:=(\\S*))?\\s*");
    private static final Pattern ENV_PAIR = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S*)");

    record Instruction(String keyword, Map<String, String> flags, String args, int line) {
        /** Exec-form arguments (a JSON array); fails for shell form. */
        List<String> execForm() {
            try {
                return JSON.readValue(args, new TypeReference<List<String>>() {});
            } catch (Exception e) {
                throw new AssertionError("line " + line + ": " + keyword + " " + args
                        + " (expected: exec form, a JSON array of strings)", e);
            }
        }

        /** Whitespace-separated words (COPY sources and destination, EXPOSE ports, USER). */
        List<String> words() {
            return List.of(args.trim().split("\\s+"));
        }
    }

    record Stage(String name, String from, List<Instruction> instructions) {
        List<Instruction> all(String keyword) {
            return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
        }

        Optional<Instruction> last(String keyword) {
            List<Instruction> found = all(keyword);
            return found.isEmpty() ? Optional.empty() : Optional.of(found.get(found.size() - 1));
        }

        /** ENV variables as the stage ends (later assignments win). */
        Map<String, String> env() {
            Map<String, String> env = new LinkedHashMap<>();
            for (Instruction i : all("ENV")) {
                Matcher m = ENV_PAIR.matcher(i.args());
                while (m.find()) {
                    String v = m.group(2);
                    if (v.startsWith("\"")) {
                        v = v.substring(1, v.length() - 1).replace("\\\"", "\"");
                    }
                    env.put(m.group(1), v);
                }
            }
            return env;
        }

        /** The destination of the COPY whose (only) source is {@code source}. */
        Optional<String> copyDestination(String source) {
            for (Instruction i : all("COPY")) {
                List<String> w = i.words();
                if (w.size() == 2 && w.get(0).equals(source)) {
                    return Optional.of(w.get(1));
                }
            }
            return Optional.empty();
        }
    }

    private final List<Stage> stages;

    private Dockerfile(List<Stage> stages) {
        this.stages = List.copyOf(stages);
    }

    static Dockerfile parse(String text) {
        List<Stage> stages = new ArrayList<>();
        List<Instruction> current = null;
        String name = null;
        String from = null;
        StringBuilder logical = new StringBuilder();
        int start = 0;
        String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String raw = lines[n];
            String trimmed = raw.strip();
            if (trimmed.startsWith("#") || (trimmed.isEmpty() && logical.isEmpty())) {
                continue; // comments (and parser directives) and blank lines, also inside a continuation
            }
            if (logical.isEmpty()) {
                start = n + 1;
            }
            if (trimmed.endsWith("\\")) {
                logical.append(trimmed, 0, trimmed.length() - 1).append(' ');
                continue;
            }
            logical.append(trimmed);
            String line = logical.toString().strip();
            logical.setLength(0);
            if (line.isEmpty()) {
                continue;
            }
            int sp = line.indexOf(' ');
            String keyword = (sp < 0 ? line : line.substring(0, sp)).toUpperCase(Locale.ROOT);
            String rest = sp < 0 ? "" : line.substring(sp + 1).strip();
            Map<String, String> flags = new LinkedHashMap<>();
            Matcher m;
            while ((m = FLAG.matcher(rest)).find()) {
                flags.put(m.group(1), m.group(2) == null ? "" : m.group(2));
                rest = rest.substring(m.end());
            }
            if (keyword.equals("FROM")) {
                if (current != null) {
                    stages.add(new Stage(name, from, current));
                }
                String[] w = rest.split("\\s+");
                from = w[0];
                name = w.length == 3 && w[1].equalsIgnoreCase("AS") ? w[2] : String.valueOf(stages.size());
                current = new ArrayList<>();
                continue;
            }
            if (current == null) {
                if (keyword.equals("ARG")) {
                    continue; // global ARGs before the first FROM
                }
                throw new AssertionError("line " + start + ": " + keyword + " before any FROM");
            }
            current.add(new Instruction(keyword, flags, rest, start));
        }
        if (current != null) {
            stages.add(new Stage(name, from, current));
        }
        return new Dockerfile(stages);
    }

    List<Stage> stages() {
        return stages;
    }

    Stage stage(String name) {
        return stages.stream().filter(s -> s.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no stage " + name + " (stages: "
                        + stages.stream().map(Stage::name).toList() + ")"));
    }

    /** The stage `docker build` builds without --target. */
    Stage defaultTarget() {
        return stages.get(stages.size() - 1);
    }
}
