// The robfig/cron side of bench/cron_vs_robfig.sh: reads the same
// SPEC<TAB>TZ<TAB>FROM<TAB>N lines as `kairos cron next --batch` and prints
// `ok<TAB>t1,t2,...` or `err<TAB>message` per line, in the same format.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron"
)

// Loaded zones, as date/tz keeps them on the kairos side: LoadLocation reads
// the zone file on every call.
var zones = map[string]*time.Location{}

func line(text string) string {
	cols := strings.Split(strings.TrimSuffix(text, "\r"), "\t")
	if len(cols) != 4 {
		return fmt.Sprintf("err\texpected 4 columns, found %d", len(cols))
	}
	sched, err := cron.ParseStandard(cols[0])
	if err != nil {
		return "err\t" + err.Error()
	}
	loc := time.Local
	if cols[1] != "" {
		if cached, ok := zones[cols[1]]; ok {
			loc = cached
		} else if loc, err = time.LoadLocation(cols[1]); err != nil {
			return "err\t" + err.Error()
		} else {
			zones[cols[1]] = loc
		}
	}
	from := time.Now()
	if cols[2] != "" {
		if from, err = time.Parse(time.RFC3339Nano, cols[2]); err != nil {
			return "err\t" + err.Error()
		}
	}
	n := 5
	if cols[3] != "" {
		if n, err = strconv.Atoi(cols[3]); err != nil || n < 1 {
			return "err\tbad count"
		}
	}
	var b strings.Builder
	b.WriteString("ok\t")
	t := from.In(loc)
	for i := 0; i < n; i++ {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return b.String()
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	for in.Scan() {
		out.WriteString(line(in.Text()))
		out.WriteByte('\n')
	}
}
