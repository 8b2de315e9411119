package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// ClientGo returns the gatherer of client-go's own metrics, under the names controllers built
// on controller-runtime export, so existing dashboards work: rest_client_requests_total and
// rest_client_request_duration_seconds (controller-runtime's adapter), leader_election_master_status,
// and workqueue_* for each named queue (the provider below). client-go takes one provider per
// process, so these live in one registry that every command's endpoint gathers from. Call it
// before the first workqueue is made: queues made earlier have no metrics.
func ClientGo() prometheus.Gatherer {
	registerOnce.Do(func() {
		crmetrics.Registry.MustRegister(queueDepth, queueAdds, queueLatency, queueWork, queueUnfinished, queueLongest, queueRetries)
		workqueue.SetProvider(queueMetrics{})
		crmetrics.RegisterRESTClientMetrics(crmetrics.MetricRequestLatency)
	})
	return crmetrics.Registry
}

var registerOnce sync.Once

// Workqueue metrics, labelled like controller-runtime's: name and controller are the queue's name.
var (
	queueLabels = []string{"name", "controller"}
	queueDepth  = prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "workqueue", Name: "depth",
		Help: "Current depth of the workqueue."}, queueLabels)
	queueAdds = prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: "workqueue", Name: "adds_total",
		Help: "Total number of adds handled by the workqueue."}, queueLabels)
	queueLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "workqueue", Name: "queue_duration_seconds",
		Help: "How long in seconds an item stays in the workqueue before being requested.", Buckets: prometheus.ExponentialBuckets(10e-9, 10, 12)}, queueLabels)
	queueWork = prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "workqueue", Name: "work_duration_seconds",
		Help: "How long in seconds processing an item from the workqueue takes.", Buckets: prometheus.ExponentialBuckets(10e-9, 10, 12)}, queueLabels)
	queueUnfinished = prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "workqueue", Name: "unfinished_work_seconds",
		Help: "Seconds of work in progress not yet observed by work_duration; growth means a stuck worker."}, queueLabels)
	queueLongest = prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "workqueue", Name: "longest_running_processor_seconds",
		Help: "How many seconds the longest running processor of the workqueue has been running."}, queueLabels)
	queueRetries = prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: "workqueue", Name: "retries_total",
		Help: "Total number of items added to the workqueue with a delay."}, queueLabels)
)

// queueMetrics gives client-go's workqueues their Prometheus metrics.
type queueMetrics struct{}

func (queueMetrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return queueDepth.WithLabelValues(name, name)
}

func (queueMetrics) NewAddsMetric(name string) workqueue.CounterMetric {
	return queueAdds.WithLabelValues(name, name)
}

func (queueMetrics) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return queueLatency.WithLabelValues(name, name)
}

func (queueMetrics) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return queueWork.WithLabelValues(name, name)
}

func (queueMetrics) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return queueUnfinished.WithLabelValues(name, name)
}

func (queueMetrics) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return queueLongest.WithLabelValues(name, name)
}

func (queueMetrics) NewRetriesMetric(name string) workqueue.CounterMetric {
	return queueRetries.WithLabelValues(name, name)
}
