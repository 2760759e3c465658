package ai.sisom.spark;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * An output table declared once: each column's name, type and how its value comes from one record. The schema and
 * every row are made from the same list, so a column cannot be added to one and forgotten in the other. Input
 * columns that pass through (labels, partition columns) follow the declared ones.
 *
 * @param <T> the record one row is made from
 */
public final class TableLayout<T> implements Serializable {
    private static final long serialVersionUID = 1L;

    /** How one record yields a column's value; serializable because rows are made on executors. */
    public interface Getter<T> extends Function<T, Object>, Serializable {}

    /** One declared column. */
    public record Column<T>(StructField field, Getter<T> value) implements Serializable {}

    private final List<Column<T>> columns;

    private TableLayout(List<Column<T>> columns) {
        this.columns = List.copyOf(columns);
    }

    /** Starts a layout; add columns in output order. */
    public static <T> Builder<T> builder() {
        return new Builder<>();
    }

    /** The declared columns followed by the pass-through ones. */
    public StructType schema(List<StructField> passThrough) {
        List<StructField> f = new ArrayList<>(columns.size() + passThrough.size());
        columns.forEach(c -> f.add(c.field()));
        f.addAll(passThrough);
        return new StructType(f.toArray(new StructField[0]));
    }

    /** One row: the declared columns' values from {@code record}, then the pass-through values as given. */
    public Row row(T record, Object[] passThrough) {
        Object[] v = new Object[columns.size() + passThrough.length];
        for (int i = 0; i < columns.size(); i++) {
            v[i] = columns.get(i).value().apply(record);
        }
        System.arraycopy(passThrough, 0, v, columns.size(), passThrough.length);
        return RowFactory.create(v);
    }

    /** Names of the declared columns, in order. */
    public List<String> names() {
        return columns.stream().map(c -> c.field().name()).toList();
    }

    public static final class Builder<T> {
        private final List<Column<T>> columns = new ArrayList<>();

        public Builder<T> add(String name, DataType type, boolean nullable, Getter<T> value) {
            return add(name, type, nullable, Metadata.empty(), value);
        }

        public Builder<T> add(String name, DataType type, boolean nullable, Metadata metadata, Getter<T> value) {
            if (columns.stream().anyMatch(c -> c.field().name().equals(name))) {
                throw new IllegalArgumentException("column '" + name + "' declared twice");
            }
            columns.add(new Column<>(new StructField(name, type, nullable, metadata), value));
            return this;
        }

        public TableLayout<T> build() {
            return new TableLayout<>(columns);
        }
    }
}
