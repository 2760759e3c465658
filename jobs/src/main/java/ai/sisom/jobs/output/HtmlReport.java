package ai.sisom.jobs.output;

import ai.sisom.spark.ImageSources;
import ai.sisom.spark.ScoreTable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import javax.imageio.ImageIO;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.isnan;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;

/**
 * A self-contained HTML report of one scoring run: the queue and the samples the OOD threshold flagged, as two
 * separate sections of thumbnails with their scores, histograms of r, energy and the OOD metric (inline SVG, the
 * threshold drawn on the last), r_avg, the fusion weights and how the threshold was chosen. No external resources:
 * images are data URIs, so the file can be mailed or attached to a ticket.
 */
public final class HtmlReport {
    static final int THUMB = 96;
    static final int BINS = 30;
    /** summary.json fields shown in the report's table, in order. */
    static final List<String> SUMMARY_KEYS = List.of("scored", "selected", "flagged", "oodGate", "score", "rAvg",
            "sigmaR", "muE", "sigmaE", "energyWeight", "ratioWeight", "dOutVariant", "dOutZero", "rejected");

    private HtmlReport() {}

    /**
     * @param scores    the run's score table
     * @param selection the queue (rank, id, score, ...)
     * @param flagged   the flagged list (ood_rank, id, ood_metric, ...), or null when the run had no threshold
     * @param images    the pool's images (id, image) for thumbnails, or null; ids not found show as text only
     * @param summary   summary.json's fields
     * @param ood       how many of the flagged samples to show, most out-of-distribution first
     */
    public static void write(String path, Dataset<Row> scores, Dataset<Row> selection, Dataset<Row> flagged,
                             Dataset<Row> images, Map<String, Object> summary, int ood, Configuration conf)
            throws IOException {
        List<Row> picked = selection.orderBy(ScoreTable.RANK).select(ScoreTable.RANK, ScoreTable.ID, ScoreTable.SCORE,
                ScoreTable.PSEUDO_LABEL, ScoreTable.R, ScoreTable.ENERGY).collectAsList();
        List<Row> odd = flagged == null ? List.of() : flagged.orderBy(ScoreTable.OOD_RANK).limit(ood)
                .select(ScoreTable.OOD_RANK, ScoreTable.ID, ScoreTable.OOD_METRIC, ScoreTable.PSEUDO_LABEL,
                        ScoreTable.ENERGY, ScoreTable.NEAREST_IN, ScoreTable.NEAREST_OUT)
                .collectAsList();
        List<String> ids = new ArrayList<>();
        picked.forEach(r -> ids.add(r.getString(1)));
        odd.forEach(r -> ids.add(r.getString(1)));
        Map<String, String> thumbs = new HashMap<>();
        List<Row> found = images == null || ids.isEmpty() ? List.of()
                : images.filter(col(ImageSources.ID).isin(ids.toArray())).select(ImageSources.ID, ImageSources.IMAGE).collectAsList();
        for (Row r : found) {
            if (!r.isNullAt(1)) {
                String t = thumbnail((byte[]) r.get(1));
                if (t != null) {
                    thumbs.put(r.getString(0), t);
                }
            }
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> threshold = (Map<String, Object>) summary.get("oodThreshold");
        boolean gated = Boolean.TRUE.equals(summary.get("oodGate"));
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>SISOM run report</title><style>")
                .append("body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}")
                .append(".grid{display:flex;flex-wrap:wrap;gap:10px}.card{width:").append(THUMB + 24)
                .append("px;font-size:11px;text-align:center;border:1px solid #ddd;padding:4px;border-radius:4px}")
                .append(".card.ood{border-color:#c33}.card img{width:").append(THUMB).append("px;height:").append(THUMB)
                .append("px;image-rendering:pixelated;background:#eee}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}</style></head><body>");
        h.append("<h1>SISOM run report</h1><table><tr>");
        // a post-hoc ranking score has no fusion weights: what a run did not record is left out, not shown as null
        List<String> keys = SUMMARY_KEYS.stream().filter(summary::containsKey).toList();
        for (String k : keys) {
            h.append("<th>").append(esc(k)).append("</th>");
        }
        h.append("</tr><tr>");
        for (String k : keys) {
            Object v = summary.get(k);
            h.append("<td>").append(esc(v instanceof Double d ? String.format(Locale.ROOT, "%.4f", d) : String.valueOf(v)))
                    .append("</td>");
        }
        h.append("</tr></table>");
        h.append("<p id=\"ood-threshold\">").append(threshold == null
                ? "The reference has no OOD threshold: nothing is flagged and the queue is ungated."
                : "OOD threshold: " + esc(String.valueOf(summary.get("oodThresholdDescription")))).append("</p>");
        if (images == null) {
            h.append("<p>No thumbnails: the pool's images were not given to this run.</p>");
        }
        h.append("<h2 id=\"queue\">Queue for labeling (").append(picked.size()).append(gated
                ? "; the flagged samples are left out)" : "; ungated: flagged samples may be in it)")
                .append("</h2><div class=\"grid\">");
        for (Row r : picked) {
            card(h, r.getString(1), thumbs, "", String.format(Locale.ROOT, "#%d %s<br>score %.3f r %.3f",
                    ((Number) r.get(0)).longValue(), esc(r.getString(3)), r.getDouble(2), r.getDouble(4)));
        }
        h.append("</div>");
        if (threshold != null) {
            h.append("<h2 id=\"flagged\">Flagged as out-of-distribution (").append(summary.get("flagged"))
                    .append(" of ").append(summary.get("scored")).append(" samples; the ").append(odd.size())
                    .append(" most out-of-distribution by ").append(esc(String.valueOf(threshold.get("metric"))))
                    .append(", with the nearest reference samples of the predicted class and of another)</h2>")
                    .append("<div class=\"grid\">");
            for (Row r : odd) {
                card(h, r.getString(1), thumbs, " ood", String.format(Locale.ROOT,
                        "#%d %s<br>%s %.3f E %.2f<br>in %s<br>out %s", ((Number) r.get(0)).longValue(),
                        esc(r.getString(3)), esc(String.valueOf(threshold.get("metric"))), r.getDouble(2),
                        r.getDouble(4), esc(r.getString(5)), esc(r.getString(6))));
            }
            h.append("</div>");
        }
        h.append("<h2>Distributions</h2>");
        List<Histogram> hs = new ArrayList<>(List.of(
                new Histogram(ScoreTable.R, "distance ratio r", "r_avg", (Double) summary.get("rAvg")),
                new Histogram(ScoreTable.ENERGY, "energy E", "mu_E", (Double) summary.get("muE"))));
        if (threshold != null) {
            hs.add(new Histogram(ScoreTable.OOD_METRIC, "OOD metric " + threshold.get("metric")
                    + " (flagged above the line)", "threshold", ((Number) threshold.get("value")).doubleValue()));
        }
        histograms(scores, hs).forEach(h::append);
        h.append("</body></html>\n");
        Path p = new Path(path);
        try (Writer w = new OutputStreamWriter(p.getFileSystem(conf).create(p, true), StandardCharsets.UTF_8)) {
            w.write(h.toString());
        }
    }

    private static void card(StringBuilder h, String id, Map<String, String> thumbs, String cls, String caption) {
        h.append("<div class=\"card").append(cls).append("\">");
        String t = thumbs.get(id);
        if (t != null) {
            h.append("<img alt=\"").append(esc(id)).append("\" src=\"data:image/png;base64,").append(t).append("\">");
        }
        h.append("<div>").append(esc(id)).append("</div><div>").append(caption).append("</div></div>");
    }

    /** One histogram of the report: a score column, its title and a marker at a reference value (may be null). */
    record Histogram(String column, String title, String markerName, Double marker) {}

    /**
     * Histograms of score columns as inline SVG, with a marker at the reference value (r_avg, mu_E, the threshold).
     * Two Spark jobs for all of them, the ranges and then the bins: a job each per column cost a night more than the
     * counting itself.
     */
    static List<String> histograms(Dataset<Row> scores, List<Histogram> hs) {
        List<Column> ranges = new ArrayList<>();
        for (Histogram h : hs) {
            Column valid = valid(h.column());
            ranges.add(min(when(valid, col(h.column()))));
            ranges.add(max(when(valid, col(h.column()))));
            ranges.add(sum(when(valid, 0).otherwise(1)));
        }
        Row mm = scores.agg(ranges.get(0), ranges.subList(1, ranges.size()).toArray(Column[]::new)).first();
        List<Column> bins = new ArrayList<>();
        double[] lo = new double[hs.size()];
        double[] hi = new double[hs.size()];
        double[] width = new double[hs.size()];
        for (int i = 0; i < hs.size(); i++) {
            if (mm.isNullAt(3 * i)) {
                continue;
            }
            lo[i] = mm.getDouble(3 * i);
            hi[i] = mm.getDouble(3 * i + 1);
            width[i] = hi[i] > lo[i] ? (hi[i] - lo[i]) / BINS : 1;
            Column c = col(hs.get(i).column());
            bins.add(org.apache.spark.sql.functions.struct(lit(i).as("h"), when(valid(hs.get(i).column()),
                    least(lit(BINS - 1), floor(c.minus(lo[i]).divide(width[i])).cast("int"))).as("b")));
        }
        long[][] counts = new long[hs.size()][BINS];
        if (!bins.isEmpty()) {
            for (Row r : scores.select(explode(array(bins.toArray(Column[]::new))).as("x"))
                    .select(col("x.h"), col("x.b")).filter(col("b").isNotNull()).groupBy("h", "b").count()
                    .collectAsList()) {
                counts[r.getInt(0)][r.getInt(1)] = r.getLong(2);
            }
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < hs.size(); i++) {
            Histogram h = hs.get(i);
            long missing = mm.isNullAt(3 * i + 2) ? 0 : mm.getLong(3 * i + 2);
            out.add(mm.isNullAt(3 * i) ? "<p>" + esc(h.title()) + ": no samples" + (missing > 0 ? " (" + missing
                    + " without a value)" : "") + ".</p>"
                    : svg(counts[i], lo[i], hi[i], missing, h.title(), h.markerName(), h.marker()));
        }
        return out;
    }

    private static Column valid(String column) {
        return col(column).isNotNull().and(not(isnan(col(column))));
    }

    private static String svg(long[] counts, double lo, double hi, long missing, String title, String markerName,
                              Double marker) {
        long top = 1;
        for (long c : counts) {
            top = Math.max(top, c);
        }
        int w = 600;
        int hgt = 160;
        String caption = title + " (pool samples per bin" + (missing > 0 ? "; " + missing + " without a value, not shown" : "")
                + (marker == null ? ")" : String.format(Locale.ROOT, "; red line: %s = %.4f, from the labeled set)",
                markerName, marker));
        StringBuilder s = new StringBuilder("<figure><figcaption>" + esc(caption) + "</figcaption><svg width=\"" + w
                + "\" height=\"" + (hgt + 20) + "\" role=\"img\" aria-label=\"" + esc(title) + "\">");
        double bw = (double) w / BINS;
        for (int i = 0; i < BINS; i++) {
            double bh = counts[i] * (double) hgt / top;
            s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    + "fill=\"#4a7ebb\"><title>%d</title></rect>", i * bw, hgt - bh, bw - 1, bh, counts[i]));
        }
        if (marker != null && hi > lo) {
            double x = Math.max(0, Math.min(w, (marker - lo) / (hi - lo) * w));   // at the edge when outside the range
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" y2=\"%d\" stroke=\"#c33\" "
                    + "stroke-width=\"2\"/>", x, x, hgt));
        }
        s.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\" font-size=\"11\">%.3f</text><text x=\"%d\" y=\"%d\" "
                + "font-size=\"11\" text-anchor=\"end\">%.3f</text></svg></figure>", hgt + 15, lo, w, hgt + 15, hi));
        return s.toString();
    }

    /** A PNG thumbnail of at most THUMB pixels a side, base64; null when the bytes are not an image. */
    static String thumbnail(byte[] bytes) {
        try {
            BufferedImage img = ImageIO.read(new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes)));
            if (img == null) {
                return null;
            }
            double f = Math.min(1.0, (double) THUMB / Math.max(img.getWidth(), img.getHeight()));
            int tw = Math.max(1, (int) Math.round(img.getWidth() * f));
            int th = Math.max(1, (int) Math.round(img.getHeight() * f));
            BufferedImage t = new BufferedImage(tw, th, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = t.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(img, 0, 0, tw, th, null);
            g.dispose();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(t, "png", out);
            return Base64.getEncoder().encodeToString(out.toByteArray());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
