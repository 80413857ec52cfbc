package web

import (
	"math"
	"strconv"
	"strings"
)

// A chart is drawn on the server as SVG, with its numbers beside it as a
// table (the text alternative) and on each bar as data attributes: no
// script, no library, nothing fetched (issue 23 item 5).
type chart struct {
	ID         string // data-chart, and the prefix of the element ids
	Title      string
	Desc       string // one sentence saying what the chart shows, for those who do not see it
	KeyHeading string // the table's first column: 日, 部署 …
	Series     []chartSeries
	Rows       []chartRow
	Horizontal bool // bars grow to the right, one row each (names); else up (days)

	// Drawn by layout.
	W, H   int
	Bars   []chartBar
	Ticks  []chartTick
	Legend []chartLegend
	Base   chartLine // the axis the bars stand on
}

// chartSeries is one kind of count stacked in each bar; Class colours it.
type chartSeries struct{ Name, Class string }

// chartRow is one bar: its key (a day as YYYY-MM-DD, a department's ID …),
// its label on the axis, its name in the table, and one value per series.
type chartRow struct {
	Key, Label, Long string
	Values           []int64
}

// Total is the sum of the row's values.
func (r chartRow) Total() int64 {
	var n int64
	for _, v := range r.Values {
		n += v
	}
	return n
}

// chartBar is a row drawn: its segments, its label and where its total is
// written.
type chartBar struct {
	chartRow
	Segs           []chartSeg
	LabelX, LabelY float64
	ValueX, ValueY float64
	Anchor         string // text-anchor of the label
}

// ValuesAttr writes the bar's values for its data attribute: "12 3".
func (b chartBar) ValuesAttr() string {
	parts := make([]string, len(b.Values))
	for i, v := range b.Values {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(parts, " ")
}

type chartSeg struct {
	X, Y, W, H float64
	Class      string
	Value      int64
	Series     string
}

type chartTick struct {
	X1, Y1, X2, Y2 float64 // the grid line
	TX, TY         float64 // its label
	Label          string
}

type chartLine struct{ X1, Y1, X2, Y2 float64 }

type chartLegend struct {
	X, Y  float64
	Class string
	Name  string
}

// Sizes of the drawing, in the SVG's own units (it scales to its box).
const (
	chartVW       = 640 // width of a chart of days
	chartVH       = 240 // height of a chart of days
	chartHW       = 640 // width of a chart of names
	chartRowH     = 30  // height of one row of a chart of names
	chartLabelMin = 80  // least room for the names of a chart of names
	chartLabelMax = 280 // most room for them (a longer name is cut)
	chartPad      = 12
	chartLegendH  = 24
	chartAxisH    = 26 // room under the bars for the days
	chartValueGap = 4
)

// layout computes where everything of c is drawn.
func (c *chart) layout() {
	var max int64
	for _, r := range c.Rows {
		max = maxInt(max, r.Total())
	}
	step, top := niceScale(max)
	for i, s := range c.Series {
		c.Legend = append(c.Legend, chartLegend{X: chartPad + float64(i)*180, Y: chartPad, Class: s.Class, Name: s.Name})
	}
	y0 := float64(chartPad + chartLegendH)
	if c.Horizontal {
		c.W = chartHW
		c.H = int(y0) + len(c.Rows)*chartRowH + chartAxisH
		labelW := float64(chartLabelMin)
		for _, r := range c.Rows {
			labelW = math.Max(labelW, textWidth(r.Label)+chartPad+8)
		}
		labelW = math.Min(labelW, chartLabelMax)
		left, right := labelW, float64(c.W-chartPad-48) // room for the totals
		scale := (right - left) / float64(top)
		bottom := y0 + float64(len(c.Rows)*chartRowH)
		for v := int64(0); v <= top; v += step {
			x := left + float64(v)*scale
			c.Ticks = append(c.Ticks, chartTick{X1: x, Y1: y0, X2: x, Y2: bottom, TX: x, TY: bottom + 16, Label: thousands(v)})
		}
		c.Base = chartLine{X1: left, Y1: y0, X2: left, Y2: bottom}
		for i, r := range c.Rows {
			y := y0 + float64(i*chartRowH)
			b := chartBar{chartRow: r, LabelX: left - 8, LabelY: y + chartRowH/2 + 5, Anchor: "end"}
			x := left
			for j, v := range r.Values {
				w := float64(v) * scale
				if v > 0 {
					b.Segs = append(b.Segs, chartSeg{X: x, Y: y + 5, W: w, H: chartRowH - 10, Class: c.Series[j].Class, Value: v, Series: c.Series[j].Name})
				}
				x += w
			}
			b.ValueX, b.ValueY = x+chartValueGap, y+chartRowH/2+5
			c.Bars = append(c.Bars, b)
		}
		return
	}
	c.W, c.H = chartVW, chartVH
	left, bottom := 48.0, float64(c.H-chartAxisH)
	right := float64(c.W - chartPad)
	height := bottom - y0 - 16 // room above the highest bar for its total
	scale := height / float64(top)
	for v := int64(0); v <= top; v += step {
		y := bottom - float64(v)*scale
		c.Ticks = append(c.Ticks, chartTick{X1: left, Y1: y, X2: right, Y2: y, TX: left - 6, TY: y + 4, Label: thousands(v)})
	}
	c.Base = chartLine{X1: left, Y1: bottom, X2: right, Y2: bottom}
	band := (right - left) / float64(max1(len(c.Rows)))
	for i, r := range c.Rows {
		x := left + float64(i)*band + band*0.2
		w := band * 0.6
		b := chartBar{chartRow: r, LabelX: x + w/2, LabelY: bottom + 18, Anchor: "middle"}
		y := bottom
		for j, v := range r.Values {
			h := float64(v) * scale
			if v > 0 {
				b.Segs = append(b.Segs, chartSeg{X: x, Y: y - h, W: w, H: h, Class: c.Series[j].Class, Value: v, Series: c.Series[j].Name})
			}
			y -= h
		}
		b.ValueX, b.ValueY = x+w/2, y-chartValueGap
		c.Bars = append(c.Bars, b)
	}
}

// textWidth estimates how wide s is drawn at the charts' 14px: a full
// width character (kanji, kana, full-width punctuation) is one em, any
// other about half.
func textWidth(s string) float64 {
	var w float64
	for _, r := range s {
		if r >= 0x1100 && !(r >= 0xff61 && r <= 0xff9f) {
			w += 14
		} else {
			w += 8
		}
	}
	return w
}

// niceScale returns a step for the scale's ticks (1, 2 or 5 times a power
// of ten) and the top of the scale, a multiple of it at or above max: four
// or five lines, the highest bar below the top one.
func niceScale(max int64) (step, top int64) {
	if max <= 0 {
		return 1, 1
	}
	raw := float64(max) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = int64(mag)
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			step = int64(m * mag)
			break
		}
	}
	if step < 1 {
		step = 1
	}
	top = (max + step - 1) / step * step
	return step, top
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// svgNum writes an SVG coordinate with one decimal at most.
func svgNum(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// chartTotal is the sum over every row and series, for the summaries.
func (c *chart) chartTotal() int64 {
	var n int64
	for _, r := range c.Rows {
		n += r.Total()
	}
	return n
}

// peak is the row with the largest total (the first of equals).
func (c *chart) peak() (chartRow, bool) {
	var best chartRow
	found := false
	for _, r := range c.Rows {
		if !found || r.Total() > best.Total() {
			best, found = r, true
		}
	}
	return best, found && best.Total() > 0
}
