package ai.sisom.jobs;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The nightly run against {@code s3a://}: a real S3-compatible server (S3Proxy over an in-memory jclouds blob
 * store) on loopback, the sample model, labeled set and pool uploaded through Hadoop's S3A file system, and every
 * job path an s3a:// URI. Credentials go through Hadoop's usual configuration and must not show up in the output.
 */
class S3IntegrationTest {
    private static final String ACCESS = "sisom-test-access";
    private static final String SECRET = "sisom-test-secret-do-not-print";
    private static S3Proxy proxy;
    private static BlobStoreContext context;
    private static SparkSession spark;
    private static java.nio.file.Path root;

    @BeforeAll
    static void start() throws Exception {
        root = JobTests.repoRoot();
        context = ContextBuilder.newBuilder("transient").credentials("unused", "unused").build(BlobStoreContext.class);
        context.getBlobStore().createContainerInLocation(null, "lake");
        proxy = S3Proxy.builder().blobStore(context.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS, SECRET).build();
        proxy.start();
        while (!AbstractLifeCycle.STARTED.equals(proxy.getState())) {
            Thread.sleep(10);
        }
        String endpoint = "http://127.0.0.1:" + proxy.getPort();
        spark = SparkSession.builder().master("local[2]").appName("sisom-s3-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                .config("spark.hadoop.fs.s3a.endpoint", endpoint)
                .config("spark.hadoop.fs.s3a.endpoint.region", "us-east-1")
                .config("spark.hadoop.fs.s3a.path.style.access", "true")
                .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
                .config("spark.hadoop.fs.s3a.access.key", ACCESS)
                .config("spark.hadoop.fs.s3a.secret.key", SECRET)
                .config("spark.hadoop.fs.s3a.aws.credentials.provider",
                        "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
                .config("spark.hadoop.fs.s3a.change.detection.version.required", "false")
                .getOrCreate();
    }

    @AfterAll
    static void stop() throws Exception {
        if (spark != null) {
            spark.stop();
        }
        if (proxy != null) {
            proxy.stop();
        }
        if (context != null) {
            context.close();
        }
    }

    private static void upload(java.nio.file.Path local, String key, Configuration conf) throws Exception {
        Path dst = new Path("s3a://lake/" + key);
        FileSystem fs = dst.getFileSystem(conf);
        if (Files.isDirectory(local)) {
            try (Stream<java.nio.file.Path> s = Files.walk(local)) {
                for (java.nio.file.Path p : s.filter(Files::isRegularFile).toList()) {
                    fs.copyFromLocalFile(new Path(p.toUri()), new Path(dst, local.relativize(p).toString()));
                }
            }
        } else {
            fs.copyFromLocalFile(new Path(local.toUri()), dst);
        }
    }

    @Test
    void theNightlyRunReadsAndWritesS3AAndNeverPrintsTheSecret() throws Exception {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        upload(root.resolve("data-samples/model/fmnist_resnet18w16.pt"), "models/net.pt", conf);
        java.nio.file.Path json = Files.createTempFile("net", ".json");
        Files.writeString(json, Files.readString(root.resolve("data-samples/model/fmnist_resnet18w16.json"))
                .replace("fmnist_resnet18w16.pt", "net.pt"));
        upload(json, "models/net.json", conf);
        Files.delete(json);
        upload(root.resolve("data-samples/labeled/parquet/data"), "labeled", conf);
        // a partitioned pool of Parquet files: two days of the sample pool
        spark.read().parquet(root.resolve("data-samples/pool/parquet/data").toString()).limit(40)
                .withColumn("date", org.apache.spark.sql.functions.when(
                        org.apache.spark.sql.functions.hash(org.apache.spark.sql.functions.col("id")).mod(2).equalTo(0),
                        "2026-11-21").otherwise("2026-11-22"))
                .write().partitionBy("date").parquet("s3a://lake/pool");

        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        // the job's settings file lives on S3 too (spark-submit ... run --conf s3a://...): read through S3A before
        // Spark starts, with the spark.hadoop.* settings spark-submit hands the driver as system properties
        String job = String.join("\n", "sisom.model=s3a://lake/models/net.pt", "sisom.labeled.path=s3a://lake/labeled",
                "sisom.labeled.format=parquet", "sisom.input.path=s3a://lake/pool", "sisom.input.format=parquet",
                "sisom.input.partitionColumn=date", "sisom.work=s3a://lake/sisom/work",
                "sisom.output=s3a://lake/sisom/results", "sisom.steepness=layer1:0.05,layer2:1,layer3:10,avgpool:50");
        try (var o = new Path("s3a://lake/conf/nightly.properties").getFileSystem(conf)
                .create(new Path("s3a://lake/conf/nightly.properties"))) {
            o.write(job.getBytes(StandardCharsets.UTF_8));
        }
        java.util.Map<String, String> hadoop = new java.util.TreeMap<>();
        for (var kv : spark.sparkContext().getConf().getAll()) {
            if (kv._1().startsWith("spark.hadoop.")) {
                hadoop.put(kv._1(), kv._2());
            }
        }
        int rc;
        try {
            hadoop.forEach(System::setProperty);
            rc = SisomJob.run(new String[]{"run", "--conf", "s3a://lake/conf/nightly.properties", "--set", "sisom.q=5"}, ps);
        } finally {
            hadoop.keySet().forEach(System::clearProperty);
            System.setErr(oldErr);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, out);
        assertTrue(out.contains("2 pool partition(s), 2 new"), out);
        assertTrue(out.contains("40 samples scored"), out);
        List<Row> sel = spark.read().parquet("s3a://lake/sisom/results/selection").collectAsList();
        assertEquals(5, sel.size());
        assertEquals(40, spark.read().parquet("s3a://lake/sisom/results/scores").count());
        FileSystem fs = new Path("s3a://lake/").getFileSystem(conf);
        assertTrue(fs.exists(new Path("s3a://lake/sisom/results/_SUCCESS")));
        assertTrue(fs.exists(new Path("s3a://lake/sisom/results/summary.json")));
        // the queue's images for the labeling tools, written concurrently through S3A
        List<FileStatus> queued = java.util.Arrays.stream(
                        fs.listStatus(new Path("s3a://lake/sisom/results/labeling/images")))
                .filter(f -> !f.getPath().getName().equals("manifest.jsonl")).toList();
        assertEquals(5, queued.size(), queued.toString());
        assertTrue(queued.stream().allMatch(f -> f.getLen() > 0), queued.toString());
        String summary;
        try (var in = fs.open(new Path("s3a://lake/sisom/results/summary.json"))) {
            summary = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (String text : List.of(out, err.toString(StandardCharsets.UTF_8), summary)) {
            assertFalse(text.contains(SECRET), "the secret key leaked");
        }
    }

    @Test
    void theRunLockOnS3AdmitsOneWriterAtATime() throws Exception {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        String lock = ai.sisom.jobs.output.RunLock.onDirectory("s3a://lake/locktest/work");
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        try (var first = ai.sisom.jobs.output.RunLock.acquire(lock, java.time.Duration.ofMinutes(30), conf, quiet)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ai.sisom.jobs.output.RunLock.acquire(lock, java.time.Duration.ofMinutes(30), conf, quiet));
            assertTrue(e.getMessage().contains("another sisom run is writing here"), e.getMessage());
        }
        // released: the next writer gets it
        ai.sisom.jobs.output.RunLock.acquire(lock, java.time.Duration.ofMinutes(30), conf, quiet).close();
        assertFalse(new Path(lock).getFileSystem(conf).exists(new Path(lock)));
    }
}
