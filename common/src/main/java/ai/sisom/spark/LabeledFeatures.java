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

import static org.apache.spark.sql.functions.col;

/** The labeled feature table brought to the driver for the reference build. */
public final class LabeledFeatures {
    private LabeledFeatures() {}

    /** The labeled feature table collected for the reference build; labels are mapped to the model's classes. */
    public static LabeledSet collect(Dataset<Row> labeledFeatures, List<String> classNames, String labelColumn) {
        List<String> cols = Arrays.asList(labeledFeatures.columns());
        if (!cols.contains(labelColumn)) {
            throw new IllegalArgumentException("labeled feature table has no '" + labelColumn
                    + "' column: extract the labeled set with sisom.input.labeled=true");
        }
        Column label = col(labelColumn).cast(DataTypes.StringType);
        List<Row> rows = labeledFeatures.select(col(FeatureTable.ID), label, col(FeatureTable.U), col(FeatureTable.ENERGY),
                col(FeatureTable.PENULTIMATE)).orderBy(FeatureTable.ID).collectAsList();
        Map<String, Integer> index = new HashMap<>();
        for (int c = 0; c < classNames.size(); c++) {
            index.put(classNames.get(c), c);
        }
        List<String> ids = new ArrayList<>();
        List<float[]> u = new ArrayList<>();
        List<float[]> pen = new ArrayList<>();
        int[] labels = new int[rows.size()];
        double[] e = new double[rows.size()];
        List<String> unknown = new ArrayList<>();
        List<String> nonFinite = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            Integer c = r.isNullAt(1) ? null : index.get(r.getString(1));
            if (c == null) {
                unknown.add(r.getString(0) + " (label " + (r.isNullAt(1) ? "missing" : "'" + r.getString(1) + "'") + ")");
                continue;
            }
            float[] ui = FeatureTable.floats(r, 2);
            double energy = r.getDouble(3);
            String bad = !Double.isFinite(energy) ? "energy " + energy : firstNonFinite(ui);
            if (bad != null) {
                nonFinite.add(r.getString(0) + " (" + bad + ")");
                continue;
            }
            ids.add(r.getString(0));
            labels[ids.size() - 1] = c;
            u.add(ui);
            e[ids.size() - 1] = energy;
            pen.add(FeatureTable.floats(r, 4));
        }
        if (!nonFinite.isEmpty()) {
            throw new IllegalArgumentException(nonFinite.size() + " labeled samples have non-finite features (the "
                    + "model's output overflowed on them): " + nonFinite.subList(0, Math.min(10, nonFinite.size()))
                    + (nonFinite.size() > 10 ? " ..." : "") + "; remove them from the labeled set");
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(unknown.size() + " labeled samples have a label that is not one of the "
                    + "model's classes " + classNames + ": " + unknown.subList(0, Math.min(10, unknown.size()))
                    + (unknown.size() > 10 ? " ..." : ""));
        }
        return new LabeledSet(ids, Arrays.copyOf(labels, ids.size()), u, Arrays.copyOf(e, ids.size()), pen);
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
