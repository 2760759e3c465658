package ai.sisom.reference;

import java.util.Locale;

/** The two definitions of d_out (METHOD.md section 3). */
public enum DOutVariant {
    /** The paper's equation and the authors' AL code: nearest other-class reference to the sample itself. */
    SAMPLE,
    /** Distance-based Surprise Adequacy and the authors' OOD code: nearest other-class reference to the anchor. */
    ANCHOR;

    public static DOutVariant parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("d_out variant must be sample or anchor, got '" + s + "'");
        }
    }
}
