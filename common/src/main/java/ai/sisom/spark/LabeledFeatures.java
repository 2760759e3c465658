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
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            Integer c = r.isNullAt(1) ? null : index.get(r.getString(1));
            if (c == null) {
                unknown.add(r.getString(0) + " (label " + (r.isNullAt(1) ? "missing" : "'" + r.getString(1) + "'") + ")");
                continue;
            }
            ids.add(r.getString(0));
            labels[ids.size() - 1] = c;
            u.add(FeatureTable.floats(r, 2));
            e[ids.size() - 1] = r.getDouble(3);
            pen.add(FeatureTable.floats(r, 4));
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(unknown.size() + " labeled samples have a label that is not one of the "
                    + "model's classes " + classNames + ": " + unknown.subList(0, Math.min(10, unknown.size()))
                    + (unknown.size() > 10 ? " ..." : ""));
        }
        return new LabeledSet(ids, Arrays.copyOf(labels, ids.size()), u, Arrays.copyOf(e, ids.size()), pen);
    }

}
