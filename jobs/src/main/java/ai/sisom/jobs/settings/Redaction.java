package ai.sisom.jobs.settings;

import java.util.regex.Pattern;

/**
 * What the jobs never print: the values of settings whose names say they hold a credential, for any file system
 * (S3A keys and session tokens, Azure account keys and SAS tokens, GCS private keys, OAuth secrets, encryption
 * keys, key-store passwords), and the user-info part of a URI ({@code scheme://user:secret@host}).
 */
public final class Redaction {
    public static final String MASK = "****";

    // a name segment that is or ends in "key" (fs.azure.account.key.ACCOUNT, fs.s3a.encryption.key, accessKey),
    // or any of the words credentials go by
    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(secret|passw|token|credential|private|signature"
            + "|oauth|sas|session|(^|[.\\-_])key([.\\-_]|$)|[a-z0-9]key([.\\-_]|$)|keyid).*");
    private static final Pattern URI_USERINFO = Pattern.compile("(?i)\\b([a-z][a-z0-9+.\\-]*://)[^/@\\s]+@");

    private Redaction() {}

    /** Whether a setting's name says its value is a credential. */
    public static boolean isSecret(String key) {
        return SECRET_NAME.matcher(key).matches();
    }

    /** The value as it may be printed under that name. */
    public static String value(String key, String value) {
        return isSecret(key) ? MASK : text(value);
    }

    /** Any text with URI user-info masked. */
    public static String text(String s) {
        return s == null ? null : URI_USERINFO.matcher(s).replaceAll("$1" + MASK + "@");
    }
}
