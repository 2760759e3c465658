package ai.sisom.spark;

import ai.sisom.reference.LabeledSet;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.apache.spark.sql.functions.col;

/** The labeled feature table brought to the driver for the reference build. */
public final class LabeledFeatures {
    private LabeledFeatures() {}

    /** The labeled feature table collected for the reference build, without unknown labels. */
    public static LabeledSet collect(Dataset<Row> labeledFeatures, List<String> classNames, String labelColumn) {
        return collect(labeledFeatures, classNames, labelColumn, Set.of());
    }

    /**
     * The labeled feature table collected for the reference build: labels are mapped to the model's classes, and a
     * label among {@code unknownLabels} makes the sample an unknown (it calibrates the OOD threshold and never enters
     * R). Any other label is an error naming the samples.
     */
    public static LabeledSet collect(Dataset<Row> labeledFeatures, List<String> classNames, String labelColumn,
                                     Set<String> unknownLabels) {
        List<String> cols = Arrays.asList(labeledFeatures.columns());
        if (!cols.contains(labelColumn)) {
            throw new IllegalArgumentException("labeled feature table has no '" + labelColumn
                    + "' column: extract the labeled set with sisom.input.labeled=true");
        }
        Set<String> clash = new TreeSet<>(unknownLabels);
        clash.retainAll(classNames);
        if (!clash.isEmpty()) {
            throw new IllegalArgumentException("unknown labels " + clash + " (sisom.labeled.unknownLabels / "
                    + "unknownLabels) are class names of the model " + classNames + ": a sample labeled so would be "
                    + "both a class sample and an unknown");
        }
        Column label = col(labelColumn).cast(DataTypes.StringType);
        // the logits calibrate the post-hoc scores' OOD thresholds; a table without them builds the SISOM part only
        boolean withLogits = cols.contains(FeatureTable.LOGITS);
        List<Row> rows = labeledFeatures.select(col(FeatureTable.ID), label, col(FeatureTable.U), col(FeatureTable.ENERGY),
                col(FeatureTable.PENULTIMATE), col(FeatureTable.PSEUDO_CLASS),
                withLogits ? col(FeatureTable.LOGITS) : org.apache.spark.sql.functions.lit(null).as(FeatureTable.LOGITS))
                .orderBy(FeatureTable.ID).collectAsList();
        Map<String, Integer> index = new HashMap<>();
        for (int c = 0; c < classNames.size(); c++) {
            index.put(classNames.get(c), c);
        }
        List<String> ids = new ArrayList<>();
        List<float[]> u = new ArrayList<>();
        List<float[]> pen = new ArrayList<>();
        List<float[]> logits = new ArrayList<>();
        List<float[]> uPen = new ArrayList<>();
        List<float[]> uLogits = new ArrayList<>();
        int[] labels = new int[rows.size()];
        int[] pseudo = new int[rows.size()];
        double[] e = new double[rows.size()];
        List<String> uIds = new ArrayList<>();
        List<String> uLabels = new ArrayList<>();
        List<float[]> uU = new ArrayList<>();
        double[] uE = new double[rows.size()];
        int[] uPseudo = new int[rows.size()];
        List<String> bad = new ArrayList<>();
        List<String> nonFinite = new ArrayList<>();
        for (Row r : rows) {
            String l = r.isNullAt(1) ? null : r.getString(1);
            boolean isUnknown = l != null && unknownLabels.contains(l);
            Integer c = l == null ? null : index.get(l);
            if (c == null && !isUnknown) {
                bad.add(r.getString(0) + " (label " + (l == null ? "missing" : "'" + l + "'") + ")");
                continue;
            }
            float[] ui = FeatureTable.floats(r, 2);
            double energy = r.getDouble(3);
            String notFinite = !Double.isFinite(energy) ? "energy " + energy : firstNonFinite(ui);
            if (notFinite != null) {
                nonFinite.add(r.getString(0) + " (" + notFinite + ")");
                continue;
            }
            if (isUnknown) {
                int j = uIds.size();
                uIds.add(r.getString(0));
                uLabels.add(l);
                uU.add(ui);
                uE[j] = energy;
                uPseudo[j] = r.getInt(5);
                uPen.add(FeatureTable.floats(r, 4));
                uLogits.add(withLogits ? FeatureTable.floats(r, 6) : null);
                continue;
            }
            int i = ids.size();
            ids.add(r.getString(0));
            labels[i] = c;
            u.add(ui);
            e[i] = energy;
            pen.add(FeatureTable.floats(r, 4));
            pseudo[i] = r.getInt(5);
            logits.add(withLogits ? FeatureTable.floats(r, 6) : null);
        }
        if (!nonFinite.isEmpty()) {
            throw new IllegalArgumentException(nonFinite.size() + " labeled samples have non-finite features (the "
                    + "model's output overflowed on them): " + nonFinite.subList(0, Math.min(10, nonFinite.size()))
                    + (nonFinite.size() > 10 ? " ..." : "") + "; remove them from the labeled set");
        }
        if (!bad.isEmpty()) {
            throw new IllegalArgumentException(bad.size() + " labeled samples have a label that is not one of the "
                    + "model's classes " + classNames + (unknownLabels.isEmpty() ? ""
                    : " nor an unknown label " + new TreeSet<>(unknownLabels)) + ": "
                    + bad.subList(0, Math.min(10, bad.size())) + (bad.size() > 10 ? " ..." : ""));
        }
        int n = ids.size();
        int nu = uIds.size();
        LabeledSet.Unknowns unknowns = nu == 0 ? LabeledSet.Unknowns.NONE : new LabeledSet.Unknowns(uIds, uLabels, uU,
                Arrays.copyOf(uE, nu), Arrays.copyOf(uPseudo, nu), uPen, withLogits ? uLogits : null);
        return new LabeledSet(ids, Arrays.copyOf(labels, n), u, Arrays.copyOf(e, n), pen, Arrays.copyOf(pseudo, n),
                unknowns, withLogits ? logits : null);
    }

    private static String firstNonFinite(float[] u) {
        for (int j = 0; j < u.length; j++) {
            if (!Float.isFinite(u[j])) {
                return "u[" + j + "] = " + u[j];
            }
        }
        return null;
    }
}
