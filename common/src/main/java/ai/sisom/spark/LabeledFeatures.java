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
        List<Row> rows = labeledFeatures.select(col(FeatureTable.ID), label, col(FeatureTable.U), col(FeatureTable.ENERGY),
                col(FeatureTable.PENULTIMATE), col(FeatureTable.PSEUDO_CLASS)).orderBy(FeatureTable.ID).collectAsList();
        Map<String, Integer> index = new HashMap<>();
        for (int c = 0; c < classNames.size(); c++) {
            index.put(classNames.get(c), c);
        }
        List<String> ids = new ArrayList<>();
        List<float[]> u = new ArrayList<>();
        List<float[]> pen = new ArrayList<>();
        int[] labels = new int[rows.size()];
        int[] pseudo = new int[rows.size()];
        double[] e = new double[rows.size()];
        List<String> uIds = new ArrayList<>();
        List<String> uLabels = new ArrayList<>();
        List<float[]> uU = new ArrayList<>();
        double[] uE = new double[rows.size()];
        int[] uPseudo = new int[rows.size()];
        List<String> bad = new ArrayList<>();
        for (Row r : rows) {
            String l = r.isNullAt(1) ? null : r.getString(1);
            if (l != null && unknownLabels.contains(l)) {
                int j = uIds.size();
                uIds.add(r.getString(0));
                uLabels.add(l);
                uU.add(FeatureTable.floats(r, 2));
                uE[j] = r.getDouble(3);
                uPseudo[j] = r.getInt(5);
                continue;
            }
            Integer c = l == null ? null : index.get(l);
            if (c == null) {
                bad.add(r.getString(0) + " (label " + (l == null ? "missing" : "'" + l + "'") + ")");
                continue;
            }
            int i = ids.size();
            ids.add(r.getString(0));
            labels[i] = c;
            u.add(FeatureTable.floats(r, 2));
            e[i] = r.getDouble(3);
            pen.add(FeatureTable.floats(r, 4));
            pseudo[i] = r.getInt(5);
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
                Arrays.copyOf(uE, nu), Arrays.copyOf(uPseudo, nu));
        return new LabeledSet(ids, Arrays.copyOf(labels, n), u, Arrays.copyOf(e, n), pen, Arrays.copyOf(pseudo, n),
                unknowns);
    }
}
