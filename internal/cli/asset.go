package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"jukinet/internal/asset"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// AssetCmd is `jukinet asset`: the register of information assets (情報資産,
// aomori-pref:4.2, 4.3, 5; koto-ward:14) from the server's console.
// Registering and retiring are decided by the policies and logged.
type AssetCmd struct {
	Add    AssetAddCmd    `cmd:"" help:"Register an asset: a server, network equipment, a program, a data set or a storage medium."`
	Retire AssetRetireCmd `cmd:"" help:"Retire an asset; one that holds data needs the record of how its media were erased or destroyed."`
	List   AssetListCmd   `cmd:"" help:"List the register, the terminals approved in staff included."`
}

// AssetAddCmd is `jukinet asset add`.
type AssetAddCmd struct {
	dataFlag
	ID        string `required:"" help:"The asset's identifier (管理番号): letters, digits, '.', '_' or '-'."`
	Kind      string `required:"" help:"server, network, program, dataset or media (terminals are approved in staff)."`
	Name      string `required:"" help:"Its name (名称)."`
	Location  string `required:"" help:"Where it is installed or kept (設置・保管場所)."`
	Manager   string `required:"" help:"The verification id (照合ID) of the staff member who manages it."`
	Installed string `required:"" help:"The day it was installed: 2026-11-30, R8.11.30 or 令和8年11月30日."`
	HoldsData bool   `help:"It holds data (always so for servers, data sets and media): retiring it needs an erasure record."`
}

// Run registers the asset.
func (c AssetAddCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		day, err := jptext.ParseDay("installed", "設置日", c.Installed)
		if err != nil {
			return err
		}
		a := asset.Asset{ID: c.ID, Kind: asset.Kind(c.Kind), Name: c.Name, Location: c.Location, Manager: c.Manager, InstalledOn: day, HoldsData: c.HoldsData}
		if err := n.Assets.Add(env.Ctx, consoleWho(), a); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Asset %s registered (%s, managed by %s).\n", c.ID, c.Kind, c.Manager)
		return nil
	})
}

// AssetRetireCmd is `jukinet asset retire`.
type AssetRetireCmd struct {
	dataFlag
	ID      string `required:"" help:"The asset's identifier."`
	Date    string `required:"" help:"The day it was retired."`
	Reason  string `required:"" help:"Why (廃止の理由)."`
	Method  string `help:"How its media were erased or destroyed: overwrite, degauss or destroy."`
	By      string `name:"erased-by" help:"Who erased or destroyed them (a person, or a vendor and person)."`
	Witness string `help:"The verification id (照合ID) of the staff member who witnessed it."`
	Erased  string `help:"The day the media were erased or destroyed."`
}

// Run retires the asset.
func (c AssetRetireCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		day, err := jptext.ParseDay("retired", "廃止日", c.Date)
		if err != nil {
			return err
		}
		ret := asset.Retirement{Day: day, Reason: c.Reason}
		if c.Method != "" || c.By != "" || c.Witness != "" || c.Erased != "" {
			erased, err := jptext.ParseDay("erased", "消去・破壊の実施日", c.Erased)
			if err != nil {
				return err
			}
			ret.Erasure = &asset.Erasure{Method: asset.Method(c.Method), By: c.By, Witness: c.Witness, Day: erased}
		}
		if err := n.Assets.Retire(env.Ctx, consoleWho(), c.ID, ret); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Asset %s retired on %s.\n", c.ID, day.Format(time.DateOnly))
		return nil
	})
}

// AssetListCmd is `jukinet asset list`.
type AssetListCmd struct{ dataFlag }

// Run prints the register.
func (c AssetListCmd) Run(env *Env) error {
	return withStaff(env, c.Data, func(n *node.Node) error {
		list, err := n.Assets.List(env.Ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "id\tkind\tname\tlocation\tmanager\tinstalled\tstate")
		for _, a := range list {
			state := "in use"
			if r := a.Retired; r != nil {
				state = "retired " + r.Day.Format(time.DateOnly)
				if e := r.Erasure; e != nil {
					state += fmt.Sprintf(" (media %s by %s, witness %s, %s)", e.Method, e.By, e.Witness, e.Day.Format(time.DateOnly))
				}
			}
			mgr := a.Manager
			if mgr == "" {
				mgr = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Kind, a.Name, a.Location, mgr, a.InstalledOn.Format(time.DateOnly), state)
		}
		return tw.Flush()
	})
}
