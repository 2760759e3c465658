package ai.sisom.ml;

import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import ai.sisom.spark.FeatureTable;
import ai.sisom.spark.ScoreTable;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The column params the estimator and the model share (same names, so {@code fit} hands them on), made in one
 * place so their docs and validators agree; Java has no traits like MLlib's {@code HasFeaturesCol}.
 */
final class ModelColumns {
    private ModelColumns() {}

    private static Param<String> col(Params p, String name, String doc) {
        return new Param<>(p, name, doc, Checks.columnName());
    }

    static Param<String> idCol(Params p) {
        return col(p, "idCol", "input column of sample ids (string); the output keeps it");
    }

    static Param<String> featuresCol(Params p) {
        return col(p, "featuresCol", "input column of the concatenated per-layer features u (array of float, layer "
                + "metadata from extract)");
    }

    static Param<String> pseudoClassCol(Params p) {
        return col(p, "pseudoClassCol", "input column of the network's predicted class index (int, class-name "
                + "metadata from extract); the output keeps it");
    }

    static Param<String> energyCol(Params p) {
        return col(p, "energyCol", "input column of the free energy (double); the output keeps it");
    }

    static Param<String> logitsCol(Params p) {
        return col(p, "logitsCol", "input column of the logits (array of float), only named so that "
                + "keepFeatureArrays=false can leave it out");
    }

    static Param<String> penultimateCol(Params p) {
        return col(p, "penultimateCol", "input column of penultimate-layer features (array of float; the ProbCover "
                + "subset's space)");
    }

    static BooleanParam keepFeatureArrays(Params p) {
        return new BooleanParam(p, "keepFeatureArrays", "whether transform's output keeps the input's feature "
                + "arrays (featuresCol, logitsCol, penultimateCol); false leaves them out, as the jobs' score table does");
    }

    static Param<String> pseudoLabelCol(Params p) {
        return col(p, "pseudoLabelCol", "output column of the predicted class name");
    }

    static Param<String> scoreCol(Params p) {
        return col(p, "scoreCol", "output column of the ranking score (sisome or sisom, by the score param); higher "
                + "= more worth labeling");
    }

    static Param<String> oodScoreCol(Params p) {
        return col(p, "oodScoreCol", "output column of the OOD score, -score (higher = more in-distribution, "
                + "OpenOOD's convention)");
    }

    static Param<String> oodMetricCol(Params p) {
        return col(p, "oodMetricCol", "output column of the OOD gate's metric (null without a threshold)");
    }

    static Param<String> oodFlagCol(Params p) {
        return col(p, "oodFlagCol", "output column of the OOD flag: the metric above the threshold (null without one)");
    }

    static org.apache.spark.ml.param.StringArrayParam extraScores(Params p) {
        return new org.apache.spark.ml.param.StringArrayParam(p, "extraScores", "post-hoc scores written beside the "
                + "ranking one, each as an ood_score_<method> column (higher = more in-distribution): any of "
                + ai.sisom.posthoc.PosthocMethod.labels(), Checks.<String[]>when(v -> java.util.Arrays.stream(v).allMatch(
                        m -> java.util.Arrays.stream(ai.sisom.posthoc.PosthocMethod.values())
                                .anyMatch(x -> x.label().equals(m)))));
    }

    /** The columns a stage's params name. */
    static ScoreColumns of(HasScoreColumns p) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put(ScoreTable.PSEUDO_LABEL, p.getPseudoLabelCol());
        out.put(ScoreTable.SCORE, p.getScoreCol());
        out.put(ScoreTable.OOD_SCORE, p.getOodScoreCol());
        out.put(ScoreTable.OOD_METRIC, p.getOodMetricCol());
        out.put(ScoreTable.OOD_FLAG, p.getOodFlagCol());
        return new ScoreColumns(p.getIdCol(), p.getFeaturesCol(), p.getPseudoClassCol(), p.getEnergyCol(),
                p.getLogitsCol(), p.getPenultimateCol(), p.getKeepFeatureArrays(), out, p.extraScoreSet());
    }
}
