package cli

import (
	"bufio"
	"fmt"

	"jukinet/internal/ids"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

// GenCmd groups the generators.
type GenCmd struct {
	Residents GenResidentsCmd `cmd:"" help:"Write synthetic residents as CSV (the import layout) to stdout. Same seed, same bytes."`
}

// GenResidentsCmd is `jukinet gen residents`.
type GenResidentsCmd struct {
	Count    int    `required:"" help:"How many residents."`
	LocalGov string `required:"" name:"local-gov" help:"地方公共団体コード of the municipality they live in, e.g. 131083 (江東区)."`
	Seed     uint64 `default:"1" help:"Random seed."`
	Encoding string `default:"utf-8" enum:"utf-8,cp932" help:"Output encoding: utf-8 or cp932 (Shift_JIS)."`
}

// Run writes the residents.
func (c GenResidentsCmd) Run(env *Env) error {
	if c.Count < 0 {
		return fmt.Errorf("--count %d: must be 0 or more", c.Count)
	}
	lg, err := ids.ParseExistingLocalGov(c.LocalGov)
	if err != nil {
		return fmt.Errorf("--local-gov: %w", err)
	}
	enc, err := resident.ParseEncoding(c.Encoding)
	if err != nil {
		return err
	}
	g, err := synth.New(synth.Options{Seed: c.Seed, LocalGov: lg.Code, Encoding: enc})
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	w := resident.NewCSVWriter(out, enc)
	for i := 0; i < c.Count; i++ {
		if err := w.Write(g.Next()); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return out.Flush()
}
