package main

import (
	"flag"
	"strings"
	"testing"
)

func TestLeaderElectionID(t *testing.T) {
	for _, tc := range []struct {
		why  string
		args []string
		want string
	}{
		{"no instance id: the one Lease of the installation", nil, "sluice.sluice.dev"},
		{"an instance id: a Lease of its own, as Argo names its Lease after the id",
			[]string{"--instance-id=blue"}, "sluice.sluice.dev-blue"},
		{"a Lease named on the command line wins", []string{"--instance-id=blue", "--leader-election-id=mine"}, "mine"},
		{"even when it names the default", []string{"--leader-election-id=sluice.sluice.dev", "--instance-id=blue"}, "sluice.sluice.dev"},
		{"a shard: a Lease of its own, so `helm install` once per shard elects one leader per shard",
			[]string{"--watch-label-selector=sharding.fluxcd.io/key=a"}, "sluice.sluice.dev-shard-a"},
		{"the main shard keeps the Lease of an installation without shards",
			[]string{"--watch-label-selector=!sharding.fluxcd.io/key"}, "sluice.sluice.dev"},
		{"an instance and a shard", []string{"--instance-id=blue", "--watch-label-selector=sharding.fluxcd.io/key=a"},
			"sluice.sluice.dev-blue-shard-a"},
		{"a shard of several keys: a name from its hash", []string{"--watch-label-selector=sharding.fluxcd.io/key in (a,b)"},
			"sluice.sluice.dev-shard-ea8c3334"},
		{"a Lease named on the command line wins over a shard", []string{"--watch-label-selector=sharding.fluxcd.io/key=a",
			"--leader-election-id=mine"}, "mine"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			o := parseFlags(flag.NewFlagSet("sluice", flag.ContinueOnError), tc.args)
			if o.leaderElectionID != tc.want {
				t.Errorf("parseFlags(%q).leaderElectionID = %q, want %q", tc.args, o.leaderElectionID, tc.want)
			}
		})
	}
}

func TestRunRefusesAShardSelectorItCannotUse(t *testing.T) {
	for _, tc := range []struct {
		why, selector, want string
	}{
		{"not a label selector", "sharding.fluxcd.io/key=(", `--watch-label-selector "sharding.fluxcd.io/key=("`},
		{"a selector on a label children do not inherit", "team=a", "may select only on sharding.fluxcd.io/key"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			o := parseFlags(flag.NewFlagSet("sluice", flag.ContinueOnError), []string{"--watch-label-selector=" + tc.selector})
			err := run(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run with --watch-label-selector=%q: %v, want an error containing %q", tc.selector, err, tc.want)
			}
		})
	}
}

func TestRunRefusesAnInstanceIDItCannotUse(t *testing.T) {
	for _, tc := range []struct {
		why, id, want string
	}{
		{"not a label value: no object could carry it", "blue team", `--instance-id "blue team"`},
		{"a label value, but not a Lease name: the Lease cannot be made", "Blue",
			`the leader-election Lease name "sluice.sluice.dev-Blue"`},
	} {
		t.Run(tc.why, func(t *testing.T) {
			o := parseFlags(flag.NewFlagSet("sluice", flag.ContinueOnError), []string{"--instance-id=" + tc.id})
			err := run(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run with --instance-id=%q: %v, want an error containing %q", tc.id, err, tc.want)
			}
		})
	}
}

func TestPprofIsOffUnlessAsked(t *testing.T) {
	for _, tc := range []struct {
		why  string
		args []string
		want string
	}{
		{"off by default: a heap profile holds cached objects", nil, ""},
		{"served where the flag says", []string{"--pprof-bind-address=localhost:6060"}, "localhost:6060"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			o := parseFlags(flag.NewFlagSet("sluice", flag.ContinueOnError), tc.args)
			if got := managerOptions(o, nil, "").PprofBindAddress; got != tc.want {
				t.Errorf("managerOptions(%q).PprofBindAddress = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}
