package dev.toolgate.mcp;

import java.nio.charset.StandardCharsets;

/**
 * Where the events of a {@code text/event-stream} end and what one holds, as the HTML standard reads the format:
 * lines end in CRLF, LF or CR; a blank line ends an event; {@code data} lines join with a line feed. Stateless.
 */
final class SseEvents {
    /** One event: its data lines joined (null when it has none), and its other lines, each ending in LF. */
    record Event(String data, String otherFields) {}

    private SseEvents() {
    }

    /** Where the event starting at {@code from} ends (after its blank line), or -1 when it is not complete. */
    static int next(byte[] b, int from) {
        boolean lineStart = true;
        int i = from;
        while (i < b.length) {
            byte c = b[i];
            if (c == '\r' || c == '\n') {
                if (c == '\r' && i + 1 == b.length) {
                    return -1; // a CR at the end may be half of a CRLF
                }
                int next = c == '\r' && b[i + 1] == '\n' ? i + 2 : i + 1;
                if (lineStart && i > from) {
                    return next;
                }
                lineStart = true;
                i = next;
            } else {
                lineStart = false;
                i++;
            }
        }
        return -1;
    }

    /** How many leading bytes of {@code b} are complete events. */
    static int complete(byte[] b) {
        int end = 0;
        int e;
        while (end < b.length && (e = next(b, end)) > 0) {
            end = e;
        }
        return end;
    }

    /** The fields of the event in {@code b[from, to)}. */
    static Event parse(byte[] b, int from, int to) {
        StringBuilder data = null;
        StringBuilder other = new StringBuilder();
        int i = from;
        while (i < to) {
            int eol = i;
            while (eol < to && b[eol] != '\n' && b[eol] != '\r') {
                eol++;
            }
            String line = new String(b, i, eol - i, StandardCharsets.UTF_8);
            if (line.equals("data") || line.startsWith("data:")) {
                // "data" alone is the field with an empty value; one space after the colon is not part of it.
                String v = line.length() <= 5 ? "" : line.substring(line.startsWith("data: ") ? 6 : 5);
                data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
            } else if (!line.isEmpty()) {
                other.append(line).append('\n');
            }
            i = eol < to && b[eol] == '\r' && eol + 1 < to && b[eol + 1] == '\n' ? eol + 2 : eol + 1;
        }
        return new Event(data == null ? null : data.toString(), other.toString());
    }
}
