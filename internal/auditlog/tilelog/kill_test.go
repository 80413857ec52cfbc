package tilelog

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The SIGKILL test re-executes the test binary as a child (killChildEnv
// names its journal folder) that appends under 64 goroutines and prints each
// acknowledged seq, one line each; the parent kills it after a seeded-random
// number of acknowledgements and checks them all after recovery.
const killChildEnv = "JOURNAL_KILL_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		os.Exit(killChild(dir))
	}
	code := m.Run()
	if benchJournal.dir != "" {
		os.RemoveAll(benchJournal.dir)
	}
	os.Exit(code)
}

// killOptions are the child's options in cycle i: small segments, so that
// kills land around segment changes too, and each preallocation in turn.
func killOptions(i int) Options {
	return Options{SegmentSize: 256 << 10, Prealloc: []Prealloc{PreallocFallocate, PreallocNone, PreallocZero}[i%3]}
}

func killChild(dir string) int {
	cycle, _ := strconv.Atoi(os.Getenv("JOURNAL_KILL_CYCLE"))
	j, err := Open(dir, killOptions(cycle))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	var mu sync.Mutex
	out := os.Stdout // unbuffered: a line is written once its seq is acknowledged
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				seq, err := j.Append(context.Background(), build)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(out, "%d\n", seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return 0
}

func TestSIGKILLRecoversEveryAcknowledgedRecord(t *testing.T) {
	cycles := 4
	if s := os.Getenv("JOURNAL_KILL_CYCLES"); s != "" {
		cycles, _ = strconv.Atoi(s)
	}
	seed := uint64(20)
	if s := os.Getenv("JOURNAL_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	tree := &memTree{}
	acked := map[int64]bool{}
	for cycle := range cycles {
		killAfter := 1 + rng.IntN(4000)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir, fmt.Sprintf("JOURNAL_KILL_CYCLE=%d", cycle))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(stdout)
		lines, killed := 0, false
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				break // EOF after the kill; a line cut short was not acknowledged to us
			}
			seq, perr := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
			if perr != nil {
				t.Fatalf("cycle %d: child printed %q", cycle, line)
			}
			acked[seq] = true
			if lines++; lines == killAfter && !killed {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		werr := cmd.Wait()
		if !killed {
			t.Fatalf("cycle %d: child ended after %d acknowledgements (%v): %s", cycle, lines, werr, stderr.String())
		}
		if stderr.Len() > 0 {
			t.Fatalf("cycle %d: child wrote to stderr: %s", cycle, stderr.String())
		}

		j, rec, err := OpenRecover(dir, killOptions(cycle))
		if err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		size := j.Size()
		for seq := range acked {
			if seq >= size {
				t.Fatalf("cycle %d: acknowledged record %d missing (size %d)", cycle, seq, size)
			}
		}
		checkAll(t, j, tree, 0, size)
		t.Logf("cycle %d: killed after %d acknowledgements (%d read), size %d, torn bytes %d", cycle, killAfter, lines, size, rec.TornBytes)
		mustClose(t, j)
	}
}
