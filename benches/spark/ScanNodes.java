package dbtincr.bench;

import java.util.Collections;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerEvent;
import org.apache.spark.sql.execution.SparkPlanInfo;
import org.apache.spark.sql.execution.metric.SQLMetricInfo;
import org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveExecutionUpdate;
import org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart;
import scala.collection.JavaConverters;

/**
 * benches/spark_overwrite.py: the scan nodes of every SQL execution, in every version of its plan.
 *
 * Spark's own status store keeps only the last plan of an execution, and adaptive execution may
 * replace scans in it (an empty join side turns the whole plan into a LocalTableScan), while
 * the metric values of every version stay. This listener (spark.extraListeners) records, per
 * execution, the accumulator id of each scan node's "number of output rows" and the node's name,
 * from the initial plan and each adaptive update; the script sums those accumulators' values.
 */
public class ScanNodes extends SparkListener {
    private static final Map<Long, Map<Long, String>> SCANS = new ConcurrentHashMap<>();

    /** {accumulator id: scan node name} of one execution. */
    public static Map<Long, String> scans(long executionId) {
        return SCANS.getOrDefault(executionId, Collections.emptyMap());
    }

    @Override
    public void onOtherEvent(SparkListenerEvent event) {
        if (event instanceof SparkListenerSQLExecutionStart) {
            SparkListenerSQLExecutionStart e = (SparkListenerSQLExecutionStart) event;
            walk(e.executionId(), e.sparkPlanInfo());
        } else if (event instanceof SparkListenerSQLAdaptiveExecutionUpdate) {
            SparkListenerSQLAdaptiveExecutionUpdate e = (SparkListenerSQLAdaptiveExecutionUpdate) event;
            walk(e.executionId(), e.sparkPlanInfo());
        }
    }

    private static void walk(long executionId, SparkPlanInfo node) {
        String name = node.nodeName();
        if (name.startsWith("Scan ") || name.startsWith("BatchScan")) {
            for (SQLMetricInfo m : JavaConverters.seqAsJavaList(node.metrics())) {
                if (m.name().equals("number of output rows")) {
                    SCANS.computeIfAbsent(executionId, k -> new ConcurrentHashMap<>()).put(m.accumulatorId(), name);
                }
            }
        }
        for (SparkPlanInfo child : JavaConverters.seqAsJavaList(node.children())) {
            walk(executionId, child);
        }
    }
}
