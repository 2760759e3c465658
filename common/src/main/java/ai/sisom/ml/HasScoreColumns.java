package ai.sisom.ml;

import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

/**
 * The column params {@link SisomEstimator} and {@link SisomScoringModel} share, with their getters (MLlib's
 * {@code HasFeaturesCol}-style traits, as a Java interface); the params themselves are fields of each stage.
 */
public interface HasScoreColumns extends Params {
    Param<String> idCol();

    Param<String> featuresCol();

    Param<String> pseudoClassCol();

    Param<String> energyCol();

    Param<String> logitsCol();

    Param<String> penultimateCol();

    BooleanParam keepFeatureArrays();

    Param<String> pseudoLabelCol();

    Param<String> scoreCol();

    Param<String> oodScoreCol();

    Param<String> oodMetricCol();

    Param<String> oodFlagCol();

    org.apache.spark.ml.param.StringArrayParam extraScores();

    default String[] getExtraScores() { return getOrDefault(extraScores()); }

    /** The extra post-hoc scores, parsed (in declaration order). */
    default java.util.Set<ai.sisom.posthoc.PosthocMethod> extraScoreSet() {
        java.util.Set<ai.sisom.posthoc.PosthocMethod> s = java.util.EnumSet.noneOf(ai.sisom.posthoc.PosthocMethod.class);
        for (String m : getExtraScores()) {
            s.add(ai.sisom.posthoc.PosthocMethod.parse(m));
        }
        return s;
    }

    default String getIdCol() { return getOrDefault(idCol()); }

    default String getFeaturesCol() { return getOrDefault(featuresCol()); }

    default String getPseudoClassCol() { return getOrDefault(pseudoClassCol()); }

    default String getEnergyCol() { return getOrDefault(energyCol()); }

    default String getLogitsCol() { return getOrDefault(logitsCol()); }

    default String getPenultimateCol() { return getOrDefault(penultimateCol()); }

    default boolean getKeepFeatureArrays() { return (Boolean) getOrDefault(keepFeatureArrays()); }

    default String getPseudoLabelCol() { return getOrDefault(pseudoLabelCol()); }

    default String getScoreCol() { return getOrDefault(scoreCol()); }

    default String getOodScoreCol() { return getOrDefault(oodScoreCol()); }

    default String getOodMetricCol() { return getOrDefault(oodMetricCol()); }

    default String getOodFlagCol() { return getOrDefault(oodFlagCol()); }
}
