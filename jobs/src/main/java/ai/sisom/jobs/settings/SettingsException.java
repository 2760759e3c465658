package ai.sisom.jobs.settings;

/** A bad or missing setting: the message names the key, the value and where it came from (exit code 2). */
public final class SettingsException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public SettingsException(String message) {
        super(message);
    }
}
