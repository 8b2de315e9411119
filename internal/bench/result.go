package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/targetsync/targetsync/internal/testenv"
)

// Result is one run of the harness, as the table shows it and bin/bench.json keeps it.
type Result struct {
	Nodes         int    `json:"nodes"`
	NodeJSONBytes int    `json:"nodeJSONBytes"`
	Date          string `json:"date"`
	BinaryVersion string `json:"binaryVersion"`
	GoVersion     string `json:"goVersion"`
	KubeAPIServer string `json:"kubeAPIServer"`
	CPUs          int    `json:"cpus"`
	CPUModel      string `json:"cpuModel"`
	Resync        string `json:"resyncPeriod"`
	// Env is the extra environment targetsync ran with (GOMAXPROCS, GOMEMLIMIT).
	Env  []string `json:"env,omitempty"`
	Rows []Row    `json:"rows"`
	// AWSCallMillis is the test AWS's own median time per call, by operation, during the lone
	// joins and leaves: the floor under every latency here.
	AWSCallMillis map[string]float64 `json:"awsCallMillis"`
}

// Row is one scenario.
type Row struct {
	Scenario string  `json:"scenario"`
	Samples  int     `json:"samples"`
	P50ms    float64 `json:"p50ms,omitempty"`
	P99ms    float64 `json:"p99ms,omitempty"`
	// Calls are AWS calls by operation, per CallsPer (an event, a resync, the whole burst).
	Calls    map[string]float64 `json:"calls"`
	CallsPer string             `json:"callsPer"`
	// RoundTrips is the median number of AWS calls between the event and the write.
	RoundTrips float64 `json:"roundTrips,omitempty"`
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	RSSMiB     float64 `json:"rssMiB,omitempty"`
	// AnonMiB is the anonymous part of RSSMiB (RssAnon): the heap, stacks and runtime.
	AnonMiB    float64 `json:"anonRSSMiB,omitempty"`
	CPUSeconds float64 `json:"cpuSeconds"`
	Note       string  `json:"note"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(b int64) float64        { return math.Round(float64(b)/(1<<20)*10) / 10 }

// percentile is the nearest-rank percentile of vs.
func percentile(vs []float64, p float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

func perEvent(calls map[string]int, n int) map[string]float64 {
	out := make(map[string]float64, len(calls))
	for a, c := range calls {
		out[a] = math.Round(float64(c)/float64(max(n, 1))*100) / 100
	}
	return out
}

// callMillis is the median time of each operation's calls.
func callMillis(calls []testenv.Call) map[string]float64 {
	by := map[string][]float64{}
	for _, c := range calls {
		by[c.Action] = append(by[c.Action], ms(c.End.Sub(c.Start)))
	}
	out := make(map[string]float64, len(by))
	for a, vs := range by {
		out[a] = percentile(vs, 50)
	}
	return out
}

func callTimes(calls []testenv.Call) string {
	m := callMillis(calls)
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %.1f ms", short(a), m[a]))
	}
	return strings.Join(parts, ", ")
}

var shortNames = map[string]string{
	"DescribeTargetGroups": "DTG", "DescribeTargetHealth": "DTH", "DescribeTags": "Tags",
	"RegisterTargets": "Reg", "DeregisterTargets": "Dereg", "ModifyTargetGroup": "Modify",
}

func short(action string) string {
	if s, ok := shortNames[action]; ok {
		return s
	}
	return action
}

func formatCalls(calls map[string]float64) string {
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(calls)) {
		parts = append(parts, fmt.Sprintf("%s %g", short(a), calls[a]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// WriteTable prints r as one table, then the notes.
func (r *Result) WriteTable(w io.Writer) error {
	env := ""
	if len(r.Env) > 0 {
		env = " " + strings.Join(r.Env, " ") + ","
	}
	fmt.Fprintf(w, "targetsync %s,%s %d nodes (%d B of JSON each), kube-apiserver %s, %s, %d CPUs (%s), resync %s, %s\n\n",
		r.BinaryVersion, env, r.Nodes, r.NodeJSONBytes, r.KubeAPIServer, r.GoVersion, r.CPUs, r.CPUModel, r.Resync, r.Date)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tN\tP50\tP99\tAWS CALLS\tPER\tPEAK RSS\tRSS (ANON)\tCPU")
	for _, row := range r.Rows {
		lat := func(v float64) string {
			if v == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f ms", v)
		}
		rss := "-"
		if row.RSSMiB > 0 {
			rss = fmt.Sprintf("%.1f MiB (%.1f)", row.RSSMiB, row.AnonMiB)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.1f MiB\t%s\t%.2f s\n", row.Scenario, row.Samples, lat(row.P50ms), lat(row.P99ms),
			formatCalls(row.Calls), row.CallsPer, row.PeakRSSMiB, rss, row.CPUSeconds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, row := range r.Rows {
		fmt.Fprintf(w, "%s: %s\n", row.Scenario, row.Note)
	}
	_, err := fmt.Fprintf(w, "test AWS per call (median): %s\n", formatMillis(r.AWSCallMillis))
	return err
}

func formatMillis(m map[string]float64) string {
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %.1f ms", short(a), m[a]))
	}
	return strings.Join(parts, ", ")
}

// WriteJSON writes r to path, indented, for comparing two commits.
func (r *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
