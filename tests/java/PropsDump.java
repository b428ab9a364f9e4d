// Differential reference for tagroute's neo4j.conf reader (tests/config_java.rs).
//
// For each file named on the command line, loads it with java.util.Properties from an
// InputStream (ISO-8859-1, as Neo4j 5 reads neo4j.conf by default) and prints every put() in
// file order, duplicates included, between a "FILE <path>" line and an "END" line:
//
//   PAIR <key> <value>     each UTF-16 unit outside printable ASCII as backslash, u, 4 hex digits,
//                          and a backslash as two
//   ERROR <message>        when Properties.load throws (a malformed unicode escape)
//
// Written for tagroute; it copies no code.
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

public final class PropsDump {
    private PropsDump() {}

    static String escape(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                out.append("\\\\");
            } else if (c > 0x20 && c < 0x7f) {
                out.append(c);
            } else {
                out.append(String.format("\\u%04X", (int) c));
            }
        }
        return out.toString();
    }

    public static void main(String[] args) throws IOException {
        StringBuilder out = new StringBuilder();
        for (String path : args) {
            out.append("FILE ").append(path).append('\n');
            List<String> pairs = new ArrayList<>();
            Properties recorder = new Properties() {
                @Override
                public synchronized Object put(Object key, Object value) {
                    pairs.add("PAIR " + escape(key.toString()) + " " + escape(value.toString()));
                    return null;
                }
            };
            try (InputStream in = new FileInputStream(path)) {
                recorder.load(in);
                for (String pair : pairs) {
                    out.append(pair).append('\n');
                }
            } catch (IllegalArgumentException e) {
                out.append("ERROR ").append(escape(String.valueOf(e.getMessage()))).append('\n');
            }
            out.append("END\n");
        }
        System.out.print(out);
    }
}
