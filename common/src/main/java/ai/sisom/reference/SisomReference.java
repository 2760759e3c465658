package ai.sisom.reference;

import ai.djl.util.JsonUtils;
import ai.sisom.posthoc.PosthocModels;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reference artifact: what pool scoring needs from the labeled set. The reference set R (class-wise, in z
 * space), the steepness that made z, the d_out variant, r_avg / sigma_r / mu_E / sigma_E (leave-one-out, true
 * labels), for the anchor variant each reference point's nearest other-class distance, and the OOD threshold
 * calibrated on the labeled set ({@link OodThreshold}). Small and versioned: {@code reference.json} (everything but
 * the points) and {@code points.bin}.
 *
 * <p>Format version 2 added the OOD threshold, version 3 the fitted post-hoc scorers ({@link PosthocModels}, after
 * the points in {@code points.bin}). A version 1 artifact still reads, with no threshold ({@link #ood()} is null,
 * {@link #formatVersion()} says 1), as does one built without calibration: scoring with the OOD gate on refuses both
 * with a message rather than scoring ungated. Versions 1 and 2 have no post-hoc scorers: the ones that need fitting
 * are refused with a message, the logit-only ones still work.
 */
public final class SisomReference implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final String FORMAT = "sisom-reference";
    public static final int FORMAT_VERSION = 3;
    /** Versions this code reads: 1 (no OOD threshold), 2 (no post-hoc scorers) and 3. */
    static final int OLDEST_READABLE = 1;
    private static final int POINTS_MAGIC = 0x5349534f; // "SISO"

    /** How to build: a steepness grid (one value per layer = fixed), the d_out variant, an optional ProbCover subset. */
    public record Settings(double[][] steepnessGrid, DOutVariant variant, Double subsetDelta, Integer subsetSize) {
        public Settings {
            if ((subsetDelta == null) != (subsetSize == null)) {
                throw new IllegalArgumentException("a ProbCover subset needs both a delta and a size (subsetDelta and subsetSize)");
            }
        }

        boolean searchesSteepness() {
            return Arrays.stream(steepnessGrid).anyMatch(g -> g.length > 1);
        }
    }

    private final List<String> classNames;
    private final List<String> layerNames;
    private final Steepness steepness;
    private final DOutVariant variant;
    private final ReferenceSet set;
    private final ReferenceStats stats;
    private final Map<String, Object> provenance;
    private final OodThreshold ood;
    private final int formatVersion;
    private final Map<String, String> builtFrom;
    private final PosthocModels posthoc;

    private SisomReference(List<String> classNames, List<String> layerNames, Steepness steepness, DOutVariant variant,
                           ReferenceSet set, ReferenceStats stats, Map<String, Object> provenance, OodThreshold ood,
                           int formatVersion, Map<String, String> builtFrom, PosthocModels posthoc) {
        this.classNames = List.copyOf(classNames);
        this.layerNames = List.copyOf(layerNames);
        this.steepness = steepness;
        this.variant = variant;
        this.set = set;
        this.stats = stats;
        this.provenance = provenance;
        this.ood = ood;
        this.formatVersion = formatVersion;
        this.builtFrom = builtFrom == null ? null : Map.copyOf(builtFrom);
        this.posthoc = posthoc;
    }

    public static SisomReference build(LabeledSet labeled, List<String> classNames, List<String> layerNames,
                                       int[] offsets, Settings s) {
        Map<String, Object> prov = new LinkedHashMap<>();
        prov.put("labeledSamples", labeled.size());
        int[] subset = null;
        if (s.subsetDelta() != null) {
            subset = ProbCover.selectClasswise(labeled.penultimate(), labeled.labels(), classNames.size(),
                    s.subsetDelta(), s.subsetSize());
            prov.put("subset", Map.of("method", "class-wise ProbCover on penultimate features",
                    "delta", s.subsetDelta(), "requestedSize", s.subsetSize(), "size", subset.length));
        }
        Steepness steep;
        if (s.searchesSteepness()) {
            SteepnessSearch.Result r = SteepnessSearch.search(labeled, classNames, offsets, s.steepnessGrid(), subset,
                    s.variant());
            steep = r.best();
            List<Map<String, Object>> trials = new ArrayList<>();
            r.trials().forEach(t -> trials.add(Map.of("steepness", t.alphas(), "rAvg", t.rAvg())));
            prov.put("steepnessSearch", trials);
        } else {
            double[] fixed = new double[s.steepnessGrid().length];
            for (int j = 0; j < fixed.length; j++) {
                fixed[j] = s.steepnessGrid()[j][0];
            }
            steep = new Steepness(fixed, offsets);
        }
        List<float[]> z = SteepnessSearch.apply(steep, labeled.u());
        ReferenceSet set = referenceSet(labeled, z, subset, classNames);
        ReferenceStats stats = ReferenceStats.leaveOneOut(set, z, labeled.labels(), labeled.energies(), s.variant());
        if (!(stats.sigmaR() > 0) || !(stats.sigmaE() > 0)) {
            throw new IllegalArgumentException("degenerate labeled set: sigma_r = " + stats.sigmaR() + ", sigma_E = "
                    + stats.sigmaE() + " (all ratios or all energies are equal); the scores would divide by zero");
        }
        return new SisomReference(classNames, layerNames, steep, s.variant(), set, stats, prov, null, FORMAT_VERSION,
                null, null);
    }

    /**
     * This reference with an OOD threshold ({@code ai.sisom.ood.OodCalibration} makes one from the labeled set);
     * written as the current format version.
     */
    public SisomReference withOod(OodThreshold threshold) {
        return new SisomReference(classNames, layerNames, steepness, variant, set, stats, provenance, threshold,
                FORMAT_VERSION, builtFrom, posthoc);
    }

    /** This reference with post-hoc scorers fitted on its labeled set; written as the current format version. */
    public SisomReference withPosthoc(PosthocModels models) {
        return new SisomReference(classNames, layerNames, steepness, variant, set, stats, provenance, ood,
                FORMAT_VERSION, builtFrom, models);
    }

    /** The fitted post-hoc scorers, or null (an artifact of format version 1 or 2). */
    public PosthocModels posthoc() { return posthoc; }

    /** R from the labeled set, or from the given subset of it (point i keeps labeled index i for leave-one-out). */
    static ReferenceSet referenceSet(LabeledSet labeled, List<float[]> z, int[] subset, List<String> classNames) {
        if (subset == null) {
            int[] all = new int[labeled.size()];
            Arrays.setAll(all, i -> i);
            return ReferenceSet.of(labeled.ids(), labeled.labels(), z, all, classNames);
        }
        List<String> ids = new ArrayList<>();
        List<float[]> zs = new ArrayList<>();
        int[] labels = new int[subset.length];
        for (int i = 0; i < subset.length; i++) {
            ids.add(labeled.ids().get(subset[i]));
            zs.add(z.get(subset[i]));
            labels[i] = labeled.labels()[subset[i]];
        }
        return ReferenceSet.of(ids, labels, zs, subset, classNames);
    }

    public List<String> classNames() { return classNames; }

    public List<String> layerNames() { return layerNames; }

    public Steepness steepness() { return steepness; }

    public DOutVariant variant() { return variant; }

    public ReferenceSet set() { return set; }

    public ReferenceStats stats() { return stats; }

    public Map<String, Object> provenance() { return provenance; }

    /** The OOD threshold, or null (an artifact of format version 1, or one built without calibration). */
    public OodThreshold ood() { return ood; }

    /** The format version the artifact was read from (the current one for a reference built here). */
    public int formatVersion() { return formatVersion; }

    /**
     * What the reference was built from, as its builder recorded it (model fingerprint, labeled set, settings), so
     * that a later run can tell a stale reference from a current one; null when not recorded.
     */
    public Map<String, String> builtFrom() { return builtFrom; }

    /** The same reference with {@link #builtFrom} recorded. */
    public SisomReference withBuiltFrom(Map<String, String> from) {
        return new SisomReference(classNames, layerNames, steepness, variant, set, stats, provenance, ood,
                FORMAT_VERSION, from, posthoc);
    }

    // ---- persistence ------------------------------------------------------------------------------------------

    /** The JSON part of the artifact. */
    public void writeJson(Writer w) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("formatVersion", FORMAT_VERSION);
        m.put("classNames", classNames);
        m.put("layerNames", layerNames);
        m.put("steepness", steepness.alphas());
        m.put("layerOffsets", steepness.offsets());
        m.put("dOutVariant", variant.name().toLowerCase(java.util.Locale.ROOT));
        m.put("rAvg", stats.rAvg());
        m.put("sigmaR", stats.sigmaR());
        m.put("muE", stats.muE());
        m.put("sigmaE", stats.sigmaE());
        m.put("labeledSamples", stats.n());
        m.put("labeledDOutZero", stats.dOutZero());
        m.put("referencePoints", set.size());
        int[] perClass = new int[classNames.size()];
        for (int c = 0; c < perClass.length; c++) {
            perClass[c] = set.size(c);
        }
        m.put("referencePointsPerClass", perClass);
        if (ood != null) {
            m.put("ood", ood.toMap());
        }
        if (posthoc != null) {
            m.put("posthoc", posthoc.summary());
        }
        m.put("provenance", provenance);
        if (builtFrom != null) {
            m.put("builtFrom", new java.util.TreeMap<>(builtFrom));
        }
        JsonUtils.GSON_PRETTY.toJson(m, w);
    }

    /** The binary points part of the artifact. */
    public void writePoints(DataOutputStream out) throws IOException {
        out.writeInt(POINTS_MAGIC);
        out.writeInt(FORMAT_VERSION);
        set.write(out, variant == DOutVariant.ANCHOR);
        out.writeBoolean(posthoc != null);
        if (posthoc != null) {
            posthoc.write(out);
        }
        out.flush();
    }

    public static SisomReference read(Reader json, DataInputStream points) throws IOException {
        Meta m;
        try {
            m = JsonUtils.GSON.fromJson(json, Meta.class);
        } catch (RuntimeException e) {
            throw new IOException("reference.json is not valid: " + e.getMessage(), e);
        }
        if (m == null || !FORMAT.equals(m.format)) {
            throw new IOException("not a sisom reference artifact (format " + (m == null ? null : m.format) + ")");
        }
        if (m.formatVersion < OLDEST_READABLE || m.formatVersion > FORMAT_VERSION) {
            throw new IOException("reference format version " + m.formatVersion + " is not supported (this version "
                    + "reads " + OLDEST_READABLE + " to " + FORMAT_VERSION + "); rebuild the reference");
        }
        // points.bin's layout is the same in versions 1 and 2, version 3 appends the post-hoc scorers; its header
        // carries the version it was written with
        if (points.readInt() != POINTS_MAGIC || points.readInt() != m.formatVersion) {
            throw new IOException("points.bin is not a version " + m.formatVersion + " sisom reference");
        }
        OodThreshold ood;
        try {
            ood = m.ood == null ? null : OodThreshold.fromMap(m.ood);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        ReferenceSet set = ReferenceSet.read(points, m.classNames);
        PosthocModels posthoc = m.formatVersion >= 3 && points.readBoolean() ? PosthocModels.read(points) : null;
        ReferenceStats stats = new ReferenceStats(m.rAvg, m.sigmaR, m.muE, m.sigmaE, m.labeledSamples, m.labeledDOutZero);
        return new SisomReference(m.classNames, m.layerNames, new Steepness(m.steepness, m.layerOffsets),
                DOutVariant.parse(m.dOutVariant), set, stats,
                m.provenance == null ? new LinkedHashMap<>() : m.provenance, ood, m.formatVersion, m.builtFrom, posthoc);
    }

    /** The JSON fields, for Gson. */
    private static final class Meta {
        String format;
        int formatVersion;
        List<String> classNames;
        List<String> layerNames;
        double[] steepness;
        int[] layerOffsets;
        String dOutVariant;
        double rAvg;
        double sigmaR;
        double muE;
        double sigmaE;
        int labeledSamples;
        int labeledDOutZero;
        LinkedHashMap<String, Object> provenance;
        LinkedHashMap<String, Object> ood;
        LinkedHashMap<String, Object> posthoc;
        LinkedHashMap<String, String> builtFrom;
    }
}
