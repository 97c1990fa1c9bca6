package audit

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Status is what the last pass found, for the status page.
type Status struct {
	Log          string           `json:"log"`
	LogURLs      []string         `json:"log_urls"`
	Size         uint64           `json:"size"`
	Scanned      uint64           `json:"scanned"`
	QuorumTime   time.Time        `json:"quorum_time"`
	LogCosigners []CosignerStatus `json:"log_cosigners"`
	Witnesses    []WitnessStatus  `json:"witnesses"`
	Mirrors      []MirrorStatus   `json:"mirrors"`
	Alerts       []Alert          `json:"alerts"`
	Started      time.Time        `json:"started"`
	Finished     time.Time        `json:"finished"`
}

// CosignerStatus is one cosignature on the log's checkpoint.
type CosignerStatus struct {
	Name string    `json:"name"`
	Time time.Time `json:"time"`
}

// WitnessStatus is what a witness's monitoring endpoint showed.
type WitnessStatus struct {
	Name     string    `json:"name"`
	URL      string    `json:"url"`
	Size     uint64    `json:"size"`
	Cosigned time.Time `json:"cosigned"`
	Error    string    `json:"error,omitempty"`
}

// MirrorStatus is what a tree mirror served.
type MirrorStatus struct {
	Name         string        `json:"name"`
	URL          string        `json:"url"`
	Origin       string        `json:"origin"`
	Timestamp    time.Time     `json:"timestamp"`
	Index        uint64        `json:"index"`
	NewestLogged time.Time     `json:"newest_logged"`
	NewestIndex  uint64        `json:"newest_index"`
	Lag          time.Duration `json:"lag_ns"`
	FilesChecked int           `json:"files_checked"`
	FilesBad     int           `json:"files_bad"`
	Error        string        `json:"error,omitempty"`
}

// Status returns what the last pass found.
func (a *Auditor) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// Seen returns the latest checkpoint each vantage point showed.
func (a *Auditor) Seen() []SeenCheckpoint {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]SeenCheckpoint, 0, len(a.seen))
	for s, cp := range a.seen {
		out = append(out, SeenCheckpoint{Source: s, Checkpoint: string(cp)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// Handler serves the status page at /, and for machines /status.json,
// /alerts.json (every alert) and /checkpoints (what each vantage point
// showed, for other auditors to compare).
func (a *Auditor) Handler() http.Handler {
	mux := http.NewServeMux()
	js := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(v)
	}
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) { js(w, a.Status()) })
	mux.HandleFunc("GET /alerts.json", func(w http.ResponseWriter, r *http.Request) { js(w, a.AllAlerts()) })
	mux.HandleFunc("GET /checkpoints", func(w http.ResponseWriter, r *http.Request) { js(w, a.Seen()) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		st := a.Status()
		if err := page.Execute(w, pageData{Status: st, Now: a.cfg.Now()}); err != nil {
			a.cfg.Log.Error("status page", "err", err)
		}
	})
	return mux
}

type pageData struct {
	Status
	Now time.Time
}

func (p pageData) Ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return round(p.Now.Sub(t)).String() + " ago"
}

func (p pageData) Fmt(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (p pageData) Dur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return round(d).String()
}

var page = template.Must(template.New("status").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="30">
<title>treelog auditor: {{.Log}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f4f4f4}
.ok{color:#176f2c}.bad{color:#b00020;font-weight:bold}
.alert{border-left:4px solid #b00020;padding:.3em .8em;margin:.5em 0;background:#fff4f4}
code{font-size:90%}
</style></head><body>
<h1>treelog auditor</h1>
<p>Last pass {{.Ago .Finished}} ({{.Fmt .Finished}}).</p>

<h2 id="alerts">Open alerts: <span id="alert-count" class="{{if .Alerts}}bad{{else}}ok{{end}}">{{len .Alerts}}</span></h2>
{{range .Alerts}}<div class="alert" data-kind="{{.Kind}}"><b>{{.Kind}}</b> {{.Message}}<br><small>since {{$.Fmt .First}}{{if .Evidence}}; evidence: {{range .Evidence}}<code>{{.}}</code> {{end}}{{end}}</small></div>
{{else}}<p class="ok">None.</p>{{end}}

<h2>Log</h2>
<table id="log">
<tr><th>origin</th><td>{{.Log}}</td></tr>
<tr><th>size</th><td id="log-size">{{.Size}}</td></tr>
<tr><th>entries verified</th><td id="log-scanned">{{.Scanned}}</td></tr>
<tr><th>newest quorum cosignature</th><td id="log-age">{{.Ago .QuorumTime}}</td></tr>
<tr><th>served from</th><td>{{range .LogURLs}}<code>{{.}}</code> {{end}}</td></tr>
</table>

<h2>Witnesses</h2>
<table id="witnesses"><tr><th>witness</th><th>size</th><th>last cosignature</th><th>problem</th></tr>
{{range .Witnesses}}<tr><td>{{.Name}}</td><td>{{.Size}}</td><td>{{$.Ago .Cosigned}}</td><td class="{{if .Error}}bad{{end}}">{{.Error}}</td></tr>
{{end}}</table>

<h2>Tree mirrors</h2>
<table id="mirrors"><tr><th>mirror</th><th>tree</th><th>snapshot served</th><th>newest logged</th><th>lag</th><th>files checked</th><th>problem</th></tr>
{{range .Mirrors}}<tr><td>{{.Name}}</td><td>{{.Origin}}</td><td>{{$.Fmt .Timestamp}}</td><td>{{$.Fmt .NewestLogged}} (index {{.NewestIndex}})</td><td class="{{if .Lag}}bad{{end}}">{{$.Dur .Lag}}</td><td class="{{if .FilesBad}}bad{{end}}">{{.FilesChecked}}{{if .FilesBad}} ({{.FilesBad}} bad){{end}}</td><td class="{{if .Error}}bad{{end}}">{{.Error}}</td></tr>
{{end}}</table>
</body></html>
`))

type metrics struct {
	entries    prometheus.Gauge
	size       prometheus.Gauge
	quorumTime prometheus.Gauge
	passes     prometheus.Counter
	lastPass   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		entries:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "treelog_auditor_entries_verified", Help: "Log entries verified, from index 0."}),
		size:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "treelog_auditor_log_size", Help: "Size of the log's latest checkpoint."}),
		quorumTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "treelog_auditor_log_quorum_timestamp_seconds", Help: "Newest time the witness quorum vouched for the log's checkpoint (Unix seconds)."}),
		passes:     prometheus.NewCounter(prometheus.CounterOpts{Name: "treelog_auditor_passes_total", Help: "Audit passes done."}),
		lastPass:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "treelog_auditor_last_pass_timestamp_seconds", Help: "End of the last pass (Unix seconds)."}),
	}
	if reg != nil {
		reg.MustRegister(m.entries, m.size, m.quorumTime, m.passes, m.lastPass)
	}
	return m
}
