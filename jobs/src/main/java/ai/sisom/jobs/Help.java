package ai.sisom.jobs;

import ai.sisom.jobs.commands.Command;
import ai.sisom.jobs.settings.Setting;

import java.util.List;

/** {@code --help} and the README's settings table, both made from the settings registry. */
final class Help {
    private Help() {}

    static String text(List<Command> commands, List<Setting<?>> settings) {
        StringBuilder b = new StringBuilder("usage: SisomJob <command> [--conf FILE] [--set key=value ...]\ncommands:\n");
        for (Command c : commands) {
            b.append(String.format("  %-16s %s%n", c.name(), c.summary()));
        }
        b.append("settings (sisom.*; spark.* settings in the file go to Spark unless spark-submit set them):\n");
        for (Setting<?> s : settings) {
            b.append("  ").append(s.key()).append("  (").append(s.type());
            if (s.defaultText() != null) {
                b.append("; default ").append(s.defaultText());
            }
            b.append("; ").append(String.join(", ", s.commands())).append(")\n      ")
                    .append(s.doc().replace("`", "")).append('\n');
        }
        return b.toString();
    }

    /** The settings as a Markdown table (README, between its settings markers). */
    static String markdownTable(List<Setting<?>> settings) {
        StringBuilder b = new StringBuilder("| setting | values | default | commands | meaning |\n|---|---|---|---|---|\n");
        for (Setting<?> s : settings) {
            b.append("| `").append(s.key()).append("` | ").append(s.type().replace("|", "\\|")).append(" | ")
                    .append(s.defaultText() == null ? "" : "`" + s.defaultText() + "`").append(" | ")
                    .append(String.join(", ", s.commands())).append(" | ").append(s.doc().replace("|", "\\|"))
                    .append(" |\n");
        }
        return b.toString();
    }
}
