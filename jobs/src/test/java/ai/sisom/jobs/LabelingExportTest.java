package ai.sisom.jobs;

import ai.djl.util.JsonUtils;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The labeling export of a nightly run, checked against the tools' published import formats:
 * <ul>
 *   <li>Label Studio (task format, "Import pre-annotated data"): a JSON list of tasks; each task's {@code data} holds
 *       the variables the labeling config references ({@code $image} of its {@code <Image name="image">});
 *       {@code predictions} is a list of {model_version, result}; each result names a control tag of the config in
 *       {@code from_name} and the object tag that control's {@code toName} points at in {@code to_name}, has the
 *       control's type in lower case ({@code choices}) and, for Choices, {@code value.choices} from the config's
 *       Choice values; {@code meta} is free-form task metadata.</li>
 *   <li>CVAT dataset manifest (utils/dataset_manifest): JSON lines, first {@code {"version": "1.1"}} (1.0 and 1.1
 *       are the versions it reads), then {@code {"type": "images"}}, then one object per image with {@code name}
 *       (the path relative to the manifest's folder, '/'-separated, without extension), {@code extension} (with the
 *       dot), {@code width} and {@code height} in pixels, optional {@code meta}.</li>
 *   <li>CVAT for images 1.1: {@code <annotations>} with {@code <version>1.1</version>} and one {@code <image id name
 *       width height>} per image (ids 0..n-1), image-level labels as {@code <tag label source>}.</li>
 * </ul>
 */
class LabelingExportTest {
    private static SparkSession spark;
    private static Path out;
    private static Path labeling;
    private static List<Row> selection;

    @BeforeAll
    static void run() throws Exception {
        Path root = JobTests.repoRoot();
        spark = JobTests.localSpark("sisom-labeling-test");
        out = Files.createTempDirectory("sisom-labeling");
        JobTests.runJob("run", "--conf", root.resolve("conf/local-samples.properties").toString(),
                "--set", "sisom.model=" + root.resolve("data-samples/model/fmnist_resnet18w16.pt"),
                "--set", "sisom.labeled.path=" + root.resolve("data-samples/labeled/parquet/data"), "--set",
                "sisom.labeled.format=parquet",
                "--set", "sisom.input.path=" + root.resolve("data-samples/pool/images"),
                "--set", "sisom.input.format=images", "--set", "sisom.q=12", "--set", "sisom.report=false",
                "--set", "sisom.steepness=layer1:0.05,layer2:1,layer3:10,avgpool:50",
                "--set", "sisom.work=" + out.resolve("work"), "--set", "sisom.output=" + out.resolve("results"));
        labeling = out.resolve("results/labeling");
        selection = spark.read().parquet(out.resolve("results/selection").toString()).orderBy("rank").collectAsList();
        assertEquals(12, selection.size());
    }

    @AfterAll
    static void stop() throws Exception {
        spark.stop();
        JobTests.deleteTree(out);
    }

    @Test
    void labelStudioTasksFollowTheImportFormatAndTheirLabelingConfig() throws Exception {
        Element view = xml(labeling.resolve("label-studio-config.xml")).getDocumentElement();
        assertEquals("View", view.getTagName());
        Element image = (Element) view.getElementsByTagName("Image").item(0);
        Element choices = (Element) view.getElementsByTagName("Choices").item(0);
        assertTrue(image.getAttribute("value").startsWith("$"), "an object tag reads a task variable");
        String variable = image.getAttribute("value").substring(1);
        assertEquals(image.getAttribute("name"), choices.getAttribute("toName"), "the control labels the image");
        Set<String> allowed = new HashSet<>();
        NodeList cs = choices.getElementsByTagName("Choice");
        for (int i = 0; i < cs.getLength(); i++) {
            allowed.add(((Element) cs.item(i)).getAttribute("value"));
        }
        assertEquals(10, allowed.size(), "the model's classes");

        JsonArray tasks = JsonUtils.GSON.fromJson(Files.readString(labeling.resolve("label-studio-tasks.json")),
                JsonArray.class);
        assertEquals(selection.size(), tasks.size());
        for (int i = 0; i < tasks.size(); i++) {
            JsonObject task = tasks.get(i).getAsJsonObject();
            Row sel = selection.get(i);
            JsonObject data = task.getAsJsonObject("data");
            String uri = data.get(variable).getAsString();
            Path file = Path.of(java.net.URI.create(uri));
            assertTrue(Files.isRegularFile(file), "data." + variable + " is an image file: " + uri);
            assertArrayEquals(Files.readAllBytes(poolImage(sel)), Files.readAllBytes(file),
                    "the exported image is the pool's");
            assertEquals(sel.getString(sel.fieldIndex("id")), data.get("sisom_id").getAsString());
            assertEquals(sel.getInt(sel.fieldIndex("rank")), data.get("sisom_rank").getAsInt());

            JsonObject meta = task.getAsJsonObject("meta");
            assertEquals(sel.getDouble(sel.fieldIndex("score")), meta.get("score").getAsDouble());
            assertEquals(sel.getDouble(sel.fieldIndex("r")), meta.get("r").getAsDouble());
            assertEquals(sel.getString(sel.fieldIndex("nearest_in_id")), meta.get("nearest_in_id").getAsString());

            JsonArray predictions = task.getAsJsonArray("predictions");
            assertEquals(1, predictions.size());
            JsonObject prediction = predictions.get(0).getAsJsonObject();
            assertTrue(prediction.get("model_version").getAsString().length() > 0);
            for (JsonElement e : prediction.getAsJsonArray("result")) {
                JsonObject r = e.getAsJsonObject();
                assertEquals(choices.getAttribute("name"), r.get("from_name").getAsString());
                assertEquals(image.getAttribute("name"), r.get("to_name").getAsString());
                assertEquals(choices.getTagName().toLowerCase(java.util.Locale.ROOT), r.get("type").getAsString());
                JsonArray picked = r.getAsJsonObject("value").getAsJsonArray("choices");
                assertEquals(1, picked.size(), "single choice");
                assertTrue(allowed.contains(picked.get(0).getAsString()), picked.toString());
                assertEquals(sel.getString(sel.fieldIndex("pseudo_label")), picked.get(0).getAsString(),
                        "the pre-annotation is the pseudo-label");
            }
        }
    }

    @Test
    void theCvatManifestAndAnnotationsFollowCvatsFormats() throws Exception {
        Path manifest = labeling.resolve("images/manifest.jsonl");
        List<String> lines = Files.readAllLines(manifest);
        assertTrue(Set.of("1.0", "1.1").contains(json(lines.get(0)).get("version").getAsString()), lines.get(0));
        assertEquals(1, json(lines.get(0)).size());
        assertEquals("images", json(lines.get(1)).get("type").getAsString());
        List<String> files = new ArrayList<>();
        for (String line : lines.subList(2, lines.size())) {
            JsonObject item = json(line);
            for (String required : List.of("name", "extension", "width", "height")) {
                assertTrue(item.has(required), required + " in " + line);
            }
            String name = item.get("name").getAsString();
            String ext = item.get("extension").getAsString();
            assertTrue(ext.startsWith(".") && !name.endsWith(ext) && !name.contains("\\"), line);
            Path image = manifest.getParent().resolve(name + ext);
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(Files.readAllBytes(image)));
            assertEquals(img.getWidth(), item.get("width").getAsInt(), line);
            assertEquals(img.getHeight(), item.get("height").getAsInt(), line);
            files.add(name + ext);
        }
        assertEquals(selection.size(), files.size());

        Document doc = xml(labeling.resolve("cvat-annotations.xml"));
        assertEquals("annotations", doc.getDocumentElement().getTagName());
        assertEquals("1.1", doc.getElementsByTagName("version").item(0).getTextContent().trim());
        NodeList images = doc.getElementsByTagName("image");
        assertEquals(files.size(), images.getLength());
        Map<String, String> labels = new HashMap<>();
        for (int i = 0; i < images.getLength(); i++) {
            Element im = (Element) images.item(i);
            assertEquals(Integer.toString(i), im.getAttribute("id"));
            assertEquals(files.get(i), im.getAttribute("name"), "the annotation names the manifest's image");
            NodeList tags = im.getElementsByTagName("tag");
            assertEquals(1, tags.getLength());
            labels.put(im.getAttribute("name"), ((Element) tags.item(0)).getAttribute("label"));
            assertFalse(((Element) tags.item(0)).getAttribute("source").isEmpty());
        }
        for (int i = 0; i < selection.size(); i++) {
            assertEquals(selection.get(i).getString(selection.get(i).fieldIndex("pseudo_label")), labels.get(files.get(i)));
        }
    }

    /** The pool image a selected row came from (image tree ids are paths under the pool root). */
    private static Path poolImage(Row sel) {
        return JobTests.repoRoot().resolve("data-samples/pool/images").resolve(sel.getString(sel.fieldIndex("id")));
    }

    private static JsonObject json(String line) {
        return JsonUtils.GSON.fromJson(line, JsonObject.class);
    }

    private static Document xml(Path p) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(p.toFile());
    }
}
