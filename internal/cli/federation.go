package cli

import (
	"fmt"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"jukinet/internal/federation"
	"jukinet/internal/node"
	"jukinet/internal/terminalca"
)

// PeerCmd exchanges peer bundles.
type PeerCmd struct {
	Export PeerExportCmd `cmd:"" help:"Print this node's bundle (code, level, URL, signing key, CA) for a peer to add."`
	Add    PeerAddCmd    `cmd:"" help:"Register a peer node from its bundle, or replace a registered one with --replace (logged)."`
	Remove PeerRemoveCmd `cmd:"" help:"End the registration of a peer node (logged)."`
}

// PeerExportCmd is `jukinet peer export`.
type PeerExportCmd struct {
	dataFlag
	URL string `name:"url" help:"Where this node listens for its downstream nodes, e.g. https://pref.example:8443 (needed by them)."`
}

// Run prints the bundle.
func (c PeerExportCmd) Run(env *Env) error {
	n, err := openNode(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	b, err := federation.Export(n, c.URL)
	if err != nil {
		return err
	}
	if err := certifyPeerURL(env, n, c.URL); err != nil {
		return err
	}
	out, err := federation.MarshalBundle(b)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, string(out))
	return nil
}

// certifyPeerURL makes sure, on a node serving HTTPS, that its server
// certificate names the host of the URL its peers are given (an IP address
// too), and says so when the certificate had to be issued again.
func certifyPeerURL(env *Env, n *node.Node, peerURL string) error {
	if !n.Config.HTTP.TLS || peerURL == "" {
		return nil
	}
	u, err := url.Parse(peerURL)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("--url %q: give scheme, host and port, e.g. https://192.0.2.10:8443", peerURL)
	}
	ca, err := terminalca.Open(n.Dir, n.Info.Name())
	if err != nil {
		return err
	}
	reissued, err := ca.EnsureServerCertificate(n.Dir, u.Hostname())
	if err != nil {
		return err
	}
	if reissued {
		fmt.Fprintf(env.Stderr, "The server certificate now also names %s; restart jukinet serve to present it.\n", u.Hostname())
	}
	return nil
}

// PeerAddCmd is `jukinet peer add`.
type PeerAddCmd struct {
	dataFlag
	Role    string `required:"" enum:"upstream,downstream" help:"upstream (the node this one notifies) or downstream (a node that notifies this one)."`
	File    string `arg:"" type:"existingfile" help:"The peer's bundle (jukinet peer export on that node)."`
	Replace bool   `help:"Replace the registered peer of the same code and role with this bundle (a wrong bundle, a new key, URL or CA)."`
	Force   bool   `help:"With --replace: even while changes to that upstream are not yet acknowledged."`
}

// Run registers the peer.
func (c PeerAddCmd) Run(env *Env) error {
	raw, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	b, err := federation.UnmarshalBundle(raw)
	if err != nil {
		return err
	}
	if c.Force && !c.Replace {
		return fmt.Errorf("--force goes with --replace")
	}
	return withStaff(env, c.Data, func(n *node.Node) error {
		if c.Replace {
			if err := federation.Replace(env.Ctx, n, consoleWho(), c.Role, b, c.Force); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Replaced %s %s (%s) with the bundle in %s.\n", c.Role, b.Code, b.Name, c.File)
			return nil
		}
		if err := federation.Add(env.Ctx, n, consoleWho(), c.Role, b); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Added %s %s (%s).\n", c.Role, b.Code, b.Name)
		return nil
	})
}

// PeerRemoveCmd is `jukinet peer remove`.
type PeerRemoveCmd struct {
	dataFlag
	Code  string `required:"" help:"The peer's code (jukinet federation status lists them)."`
	Force bool   `help:"Even while changes to that upstream are not yet acknowledged."`
}

// Run removes the peer.
func (c PeerRemoveCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := federation.Remove(env.Ctx, n, consoleWho(), c.Code, c.Force); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Removed peer %s.\n", c.Code)
		return nil
	})
}

// FederationCmd shows and manages the node's links.
type FederationCmd struct {
	Status  FederationStatusCmd  `cmd:"" help:"Peers, delivery lag, what each source sent, alerts."`
	Resume  FederationResumeCmd  `cmd:"" help:"Let a source stopped by an alert send again (logged)."`
	Witness FederationWitnessCmd `cmd:"" help:"National node: name the downstream peer that cosigns its audit-log checkpoints (logged)."`
	Check   FederationCheckCmd   `cmd:"" help:"Consistency check (整合性確認) of one local government's records with the upstream node."`
}

// FederationCheckCmd is `jukinet federation check`.
type FederationCheckCmd struct {
	dataFlag
	LocalGov string `name:"local-gov" required:"" help:"The local government whose records to compare (this node's own, or one of its municipalities)."`
	Repair   bool   `xor:"direction" help:"Send the differing residents' current versions upstream again."`
	Pull     bool   `help:"Repair the other way: take the upstream's current versions of the residents that differ or are missing here (a node restored from a backup; jukinet recover does it)." xor:"direction"`
}

// Run compares and reports; exit 1 when the copies differ (and are not
// repaired) other than by changes still on their way.
func (c FederationCheckCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		check := func() (federation.CheckReport, error) { return federation.Check(env.Ctx, n, c.LocalGov, c.Repair) }
		if c.Pull {
			check = func() (federation.CheckReport, error) { return federation.CheckPull(env.Ctx, n, c.LocalGov) }
		}
		rep, err := check()
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: %d residents here, %d upstream; %d of %d buckets differ; %d residents differ (in %s)\n",
			c.LocalGov, rep.Here, rep.Upstream, rep.BucketsDiffered, 4096, len(rep.Differences), rep.Elapsed.Round(time.Millisecond))
		for _, d := range rep.Differences {
			fmt.Fprintf(env.Stdout, "  %s  %s\n", d.Code, d.Kind)
		}
		if rep.Undelivered > 0 {
			fmt.Fprintf(env.Stdout, "%d of them have changes not yet delivered upstream (undelivered): they agree once delivered; see jukinet federation status\n", rep.Undelivered)
		}
		if c.Repair {
			fmt.Fprintf(env.Stdout, "queued %d versions for the upstream again\n", rep.Requeued)
			return nil
		}
		if c.Pull {
			fmt.Fprintf(env.Stdout, "repaired %d residents from the upstream's copy\n", rep.Pulled)
			return nil
		}
		if len(rep.Differences) > rep.Undelivered {
			return fmt.Errorf("the copies differ: run again with --repair to send the differing residents again")
		}
		return nil
	})
}

// FederationStatusCmd is `jukinet federation status`.
type FederationStatusCmd struct{ dataFlag }

// Run prints the status.
func (c FederationStatusCmd) Run(env *Env) error {
	n, err := openNode(env, c.Data)
	if err != nil {
		return err
	}
	defer n.Close()
	st, err := federation.GetStatus(env.Ctx, n)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "peer\trole\tlevel\tname\turl")
	for _, p := range st.Peers {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Code, p.Role, p.Level, p.Name, p.URL)
	}
	w.Flush()
	for _, p := range st.Peers {
		if p.Role == federation.Upstream {
			lag := "none"
			if st.Pending > 0 {
				lag = fmt.Sprintf("%d changes, oldest %s ago", st.Pending, time.Since(st.OldestSince).Round(time.Second))
			}
			fmt.Fprintf(env.Stdout, "\nupstream delivery: last change %d, acknowledged %d; lag: %s\n", st.LastChange, st.Acked, lag)
			if st.CosignedSize > 0 {
				fmt.Fprintf(env.Stdout, "audit log witnessed: checkpoint %d cosigned by %s at %s\n", st.CosignedSize, p.Code, jstTime(st.CosignedAt))
			} else {
				fmt.Fprintln(env.Stdout, "audit log witnessed: not yet")
			}
			switch st.Delivery {
			case federation.DeliverySuspended:
				fmt.Fprint(env.Stdout, "delivery: SUSPENDED")
				if sp := st.Suspension; sp != nil {
					fmt.Fprintf(env.Stdout, " here (outbound suspension %d since %s: %s; lift it with jukinet suspend --lift %d --reason …)", sp.ID, jstTime(sp.StartedAt), sp.Reason, sp.ID)
				} else {
					fmt.Fprintf(env.Stdout, " by %s (its suspension of this node's notifications)", p.Code)
				}
				fmt.Fprintln(env.Stdout, "; delivery resumes from the cursor when it is lifted")
			case federation.DeliveryFailing:
				fmt.Fprintln(env.Stdout, "delivery: FAILING (the sender tries again, backing off up to 30 s)")
			default:
				fmt.Fprintln(env.Stdout, "delivery: ok")
			}
			if st.LastError != "" {
				fmt.Fprintf(env.Stdout, "last error (%s): %s\n", jstTime(st.LastTry), st.LastError)
			}
		}
	}
	if st.Witness != "" && !hasUpstream(st.Peers) {
		if st.CosignedSize > 0 {
			fmt.Fprintf(env.Stdout, "\naudit log witnessed: checkpoint %d cosigned by %s at %s\n", st.CosignedSize, st.Witness, jstTime(st.CosignedAt))
		} else {
			fmt.Fprintf(env.Stdout, "\naudit log witnessed: not yet (witness %s)\n", st.Witness)
		}
	}
	if len(st.Inbox) > 0 {
		fmt.Fprintln(env.Stdout, "\nreceived:")
		w = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		for _, s := range st.Inbox {
			state := "receiving"
			if !s.StoppedAt.IsZero() {
				state = "STOPPED: " + s.StopReason
			}
			fmt.Fprintf(w, "%s\tlast %d\t%s\n", s.Source, s.Last, state)
		}
		w.Flush()
	}
	if len(st.Alerts) > 0 {
		fmt.Fprintln(env.Stdout, "\nalerts:")
		for _, a := range st.Alerts {
			fmt.Fprintf(env.Stdout, "%s  %s  %s: %s\n", jstTime(a.At), a.Source, a.Kind, a.Detail)
		}
	}
	return nil
}

// FederationResumeCmd is `jukinet federation resume`.
type FederationResumeCmd struct {
	dataFlag
	Source string `required:"" help:"The stopped source's code."`
}

// Run resumes the source.
func (c FederationResumeCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := federation.Resume(env.Ctx, n, consoleWho(), c.Source); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s may send again.\n", c.Source)
		return nil
	})
}

func hasUpstream(peers []federation.Peer) bool {
	for _, p := range peers {
		if p.Role == federation.Upstream {
			return true
		}
	}
	return false
}

// FederationWitnessCmd is `jukinet federation witness`.
type FederationWitnessCmd struct {
	dataFlag
	Peer string `required:"" help:"Code of the downstream peer (with a URL in its bundle) that will cosign."`
}

// Run names the witness.
func (c FederationWitnessCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		if err := federation.SetWitness(env.Ctx, n, consoleWho(), c.Peer); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s now cosigns this node's checkpoints.\n", c.Peer)
		return nil
	})
}
