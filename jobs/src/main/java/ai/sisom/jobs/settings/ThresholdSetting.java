package ai.sisom.jobs.settings;

import ai.sisom.ood.OodCalibration;

/**
 * {@code sisom.ood.threshold}: a calibration mode ({@code auto}, {@code youden}, {@code keep}) or a fixed value.
 *
 * @param mode  the mode, or null for a fixed value
 * @param value the fixed value, or null for a mode
 */
public record ThresholdSetting(OodCalibration.Mode mode, Double value) {
    public static final ThresholdSetting AUTO = new ThresholdSetting(OodCalibration.Mode.AUTO, null);

    static ThresholdSetting parse(String v) {
        try {
            return new ThresholdSetting(OodCalibration.Mode.parse(v), null);
        } catch (IllegalArgumentException notAMode) {
            double d;
            try {
                d = Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("must be auto, youden, keep or a number");
            }
            if (!Double.isFinite(d)) {
                throw new IllegalArgumentException("must be a finite number");
            }
            return new ThresholdSetting(null, d);
        }
    }

    public boolean fixed() {
        return value != null;
    }
}
