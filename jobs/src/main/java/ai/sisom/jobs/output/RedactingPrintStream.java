package ai.sisom.jobs.output;

import ai.sisom.jobs.settings.Redaction;

import java.io.PrintStream;

/** A job's console: every line it prints passes through {@link Redaction#text} (paths with user-info). */
public final class RedactingPrintStream extends PrintStream {
    public RedactingPrintStream(PrintStream out) {
        super(out, true);
    }

    @Override
    public void print(String s) {
        super.print(Redaction.text(s));
    }

    @Override
    public void print(Object o) {
        print(String.valueOf(o));
    }
}
