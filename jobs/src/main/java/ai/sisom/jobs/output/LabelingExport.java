package ai.sisom.jobs.output;

import ai.djl.util.JsonUtils;
import ai.sisom.spark.ScoreTable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * The labeling queue for the tools teams send it to, under {@code OUTPUT/labeling/} (written into the staged output,
 * so it appears with the run's other results or not at all):
 * <ul>
 *   <li>{@code images/}: the selected images as files, {@code NNNNNN_<id>.<ext>} in rank order (the pool may be a
 *       Parquet table, which no labeling tool reads);</li>
 *   <li>{@code label-studio-tasks.json}: Label Studio's task import format, one task per image: {@code data.image}
 *       the image's URI, the pseudo-label as a {@code predictions} entry of type {@code choices} (a pre-annotation
 *       the annotator confirms or corrects), the score and the distances that explain it in {@code meta};</li>
 *   <li>{@code label-studio-config.xml}: the labeling configuration those tasks refer to ({@code Image name="image"},
 *       {@code Choices name="label"} with the model's classes);</li>
 *   <li>{@code images/manifest.jsonl}: CVAT's dataset manifest (version 1.1, images) for a task made from the images
 *       folder on cloud storage, and {@code cvat-annotations.xml}: the pseudo-labels as CVAT for images 1.1 tags,
 *       importable into that task.</li>
 * </ul>
 */
public final class LabelingExport {
    public static final String DIR = "labeling";
    public static final String LS_TASKS = "label-studio-tasks.json";
    public static final String LS_CONFIG = "label-studio-config.xml";
    public static final String CVAT_MANIFEST = "images/manifest.jsonl";
    public static final String CVAT_ANNOTATIONS = "cvat-annotations.xml";
    /** Label Studio control and object names, shared by the config and every prediction. */
    static final String FROM_NAME = "label";
    static final String TO_NAME = "image";
    /** Image files written at once (LabelingExport#writeAll). */
    private static final int WRITERS = 8;

    private LabelingExport() {}

    /**
     * Writes the export for {@code selection} (the score table's selected rows with their rank) into
     * {@code staged}, taking the image bytes from {@code images} (id, image). {@code imageUri} is the URI prefix under
     * which the labeling tool reads {@code labeling/images/}: null for the final output location ({@code finalOutput},
     * with {@code s3a://} written as {@code s3://}, the scheme the tools' cloud storage uses). Returns the number of
     * tasks written.
     */
    public static int write(AtomicOutput staged, String finalOutput, Dataset<Row> selection, Dataset<Row> images,
                            List<String> classNames, String scoreName, String imageUri, Configuration hc)
            throws IOException {
        List<Row> picks = selection.orderBy(ScoreTable.RANK).collectAsList();
        Map<String, byte[]> bytes = new HashMap<>();
        if (!picks.isEmpty()) {
            Object[] ids = picks.stream().map(r -> r.getString(r.fieldIndex(ScoreTable.ID))).toArray();
            // the queue's images are held on the driver anyway (they are written from here): one collect, no
            // partition-by-partition iterator over a shuffled read
            for (Row r : images.filter(col("id").isin(ids)).select("id", "image").collectAsList()) {
                bytes.put(r.getString(0), (byte[]) r.get(1));
            }
        }
        Path out = new Path(finalOutput);
        String base = imageUri != null ? (imageUri.endsWith("/") ? imageUri : imageUri + "/")
                : toolUri(out.getFileSystem(hc).makeQualified(out).toString()) + "/" + DIR + "/images/";
        List<Map<String, Object>> tasks = new ArrayList<>();
        List<String> manifest = new ArrayList<>(List.of("{\"version\":\"1.1\"}", "{\"type\":\"images\"}"));
        StringBuilder cvat = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations>\n"
                + "  <version>1.1</version>\n");
        FileSystem fs = new Path(staged.staged(DIR)).getFileSystem(hc);
        int n = 0;
        List<Map.Entry<Path, byte[]>> files = new ArrayList<>();
        for (Row r : picks) {
            String id = r.getString(r.fieldIndex(ScoreTable.ID));
            byte[] img = bytes.get(id);
            if (img == null) {
                throw new IllegalArgumentException("labeling export: the selected sample '" + id + "' is not in the "
                        + "pool's images (sisom.input.path); cannot export it");
            }
            Image info = probe(img, id);
            int rank = r.getInt(r.fieldIndex(ScoreTable.RANK));
            String name = String.format(Locale.ROOT, "%06d_%s", rank, safe(id));
            files.add(Map.entry(new Path(staged.staged(DIR + "/images/" + name + "." + info.ext)), img));
            String label = r.getString(r.fieldIndex(ScoreTable.PSEUDO_LABEL));

            Map<String, Object> data = new LinkedHashMap<>();
            data.put("image", base + name + "." + info.ext);
            data.put("sisom_id", id);
            data.put("sisom_rank", rank);
            data.put("sisom_score", r.getDouble(r.fieldIndex(ScoreTable.SCORE)));
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("score_name", scoreName);
            for (String c : List.of(ScoreTable.SCORE, ScoreTable.OOD_SCORE, ScoreTable.R, ScoreTable.D_IN,
                    ScoreTable.D_OUT, ScoreTable.ENERGY, ScoreTable.PSEUDO_LABEL, ScoreTable.NEAREST_IN,
                    ScoreTable.NEAREST_OUT)) {
                meta.put(c, r.get(r.fieldIndex(c)));
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("id", "sisom-" + rank);
            result.put("from_name", FROM_NAME);
            result.put("to_name", TO_NAME);
            result.put("type", "choices");
            result.put("value", Map.of("choices", List.of(label)));
            Map<String, Object> prediction = new LinkedHashMap<>();
            prediction.put("model_version", "sisom-pseudo-label");
            prediction.put("result", List.of(result));
            Map<String, Object> task = new LinkedHashMap<>();
            task.put("data", data);
            task.put("meta", meta);
            task.put("predictions", List.of(prediction));
            tasks.add(task);

            Map<String, Object> line = new LinkedHashMap<>();
            line.put("name", name);
            line.put("extension", "." + info.ext);
            line.put("width", info.width);
            line.put("height", info.height);
            line.put("meta", Map.of("sisom_id", id, "sisom_rank", rank));
            manifest.add(JsonUtils.GSON.toJson(line));
            cvat.append(String.format(Locale.ROOT, "  <image id=\"%d\" name=\"%s\" width=\"%d\" height=\"%d\">\n"
                            + "    <tag label=\"%s\" source=\"auto\">\n    </tag>\n  </image>\n", n, xml(name + "." + info.ext),
                    info.width, info.height, xml(label)));
            n++;
        }
        writeAll(fs, files);
        cvat.append("</annotations>\n");
        text(fs, staged.staged(DIR + "/" + LS_TASKS), JsonUtils.GSON_PRETTY.toJson(tasks) + "\n");
        text(fs, staged.staged(DIR + "/" + LS_CONFIG), labelStudioConfig(classNames));
        text(fs, staged.staged(DIR + "/" + CVAT_MANIFEST), String.join("\n", manifest) + "\n");
        text(fs, staged.staged(DIR + "/" + CVAT_ANNOTATIONS), cvat.toString());
        return n;
    }

    /**
     * The export of a score step's staged selection ({@code staged/selection}), printed as one line; {@code images}
     * (id, image) null: nothing to export from, said so.
     */
    public static void writeStaged(org.apache.spark.sql.SparkSession spark, AtomicOutput staged, String finalOutput,
                                   Dataset<Row> images, List<String> classNames, String scoreName, String imageUri,
                                   java.io.PrintStream out) throws IOException {
        if (images == null) {
            out.println("  labeling: not exported (score without sisom.input.path: no images to export)");
            return;
        }
        int n = write(staged, finalOutput, spark.read().parquet(staged.staged("selection")), images, classNames,
                scoreName, imageUri, spark.sparkContext().hadoopConfiguration());
        out.printf(Locale.ROOT, "  labeling: %d tasks in %s/%s/ (%s, %s, %s)%n", n, finalOutput, DIR, LS_TASKS,
                CVAT_MANIFEST, CVAT_ANNOTATIONS);
    }

    static String labelStudioConfig(Collection<String> classNames) {
        StringBuilder b = new StringBuilder("<View>\n  <Image name=\"" + TO_NAME + "\" value=\"$image\"/>\n"
                + "  <Choices name=\"" + FROM_NAME + "\" toName=\"" + TO_NAME + "\" choice=\"single\" showInline=\"true\">\n");
        for (String c : classNames) {
            b.append("    <Choice value=\"").append(xml(c)).append("\"/>\n");
        }
        return b.append("  </Choices>\n</View>\n").toString();
    }

    /** The location as labeling tools name it: their S3 storage speaks s3://, Hadoop's connector s3a://. */
    static String toolUri(String hadoopUri) {
        String u = hadoopUri.endsWith("/") ? hadoopUri.substring(0, hadoopUri.length() - 1) : hadoopUri;
        return u.startsWith("s3a://") ? "s3://" + u.substring("s3a://".length()) : u;
    }

    private record Image(String ext, int width, int height) {}

    private static Image probe(byte[] img, String id) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(img))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IllegalArgumentException("labeling export: '" + id + "' is not a readable image");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in);
                String format = reader.getFormatName().toLowerCase(Locale.ROOT);
                String ext = format.equals("jpeg") ? "jpg" : format;
                return new Image(ext, reader.getWidth(0), reader.getHeight(0));
            } finally {
                reader.dispose();
            }
        }
    }

    /** A file name from an id (ids are relative paths in image trees). */
    static String safe(String id) {
        String s = id.replaceAll("[^A-Za-z0-9._-]+", "_");
        int dot = s.lastIndexOf('.');
        return dot > 0 ? s.substring(0, dot) : s;
    }

    private static String xml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /**
     * The queue's image files, written a few at a time: one after another they cost a round trip each on an object
     * store. On a local disk they are written directly: Hadoop's local file system starts a chmod process for
     * every file it creates (and its checksum file) when its native library is absent, as it is in Spark's
     * distributions; that was about 7 s for a queue of 1,000 on the development machine. The first failure is
     * thrown (the staged output is then discarded whole).
     */
    private static void writeAll(FileSystem fs, List<Map.Entry<Path, byte[]>> files) throws IOException {
        if (files.isEmpty()) {
            return;
        }
        // every image lies in one folder, made here once (a direct write does not make its parents)
        fs.mkdirs(files.get(0).getKey().getParent());
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
                Math.min(WRITERS, files.size()), r -> {
                    Thread t = new Thread(r, "sisom-labeling-writer");
                    t.setDaemon(true);
                    return t;
                });
        try {
            List<java.util.concurrent.Callable<Void>> writes = new ArrayList<>();
            for (Map.Entry<Path, byte[]> file : files) {
                Path path = file.getKey();
                byte[] bytes = file.getValue();
                writes.add(() -> {
                    if (fs instanceof org.apache.hadoop.fs.LocalFileSystem local) {
                        java.nio.file.Files.write(local.pathToFile(path).toPath(), bytes,
                                java.nio.file.StandardOpenOption.CREATE_NEW);
                    } else {
                        try (OutputStream o = fs.create(path, false)) {
                            o.write(bytes);
                        }
                    }
                    return null;
                });
            }
            for (java.util.concurrent.Future<Void> f : pool.invokeAll(writes)) {
                f.get();
            }
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing the labeling images", e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static void text(FileSystem fs, String path, String text) throws IOException {
        try (Writer w = new OutputStreamWriter(fs.create(new Path(path), false), StandardCharsets.UTF_8)) {
            w.write(text);
        }
    }
}
