use super::*;

#[test]
fn reads_check_load() {
    // `check_load -w 5,5,5 -c 10,10,10` from Debian's monitoring-plugins-basic 2.3.3.
    let output = "LOAD OK - total load average: 1.75, 1.16, 1.17|load1=1.750;5.000;10.000;0; \
                  load5=1.160;5.000;10.000;0; load15=1.170;5.000;10.000;0; \n";
    let section = parse(output, Some(0)).expect("parses");
    assert_eq!(section.state, NagiosState::Ok);
    assert_eq!(
        section.message,
        "LOAD OK - total load average: 1.75, 1.16, 1.17"
    );
    assert_eq!(section.perfdata.len(), 3);
    let load1 = &section.perfdata["load1"];
    assert_eq!(load1.value, 1.75);
    assert_eq!(load1.warn.as_deref(), Some("5.000"));
    assert_eq!(load1.crit.as_deref(), Some("10.000"));
    assert_eq!(load1.min, Some(0.0));
    assert_eq!(load1.max, None);
}

#[test]
fn reads_check_disk_and_check_swap_with_units() {
    let disk = "DISK OK - free space: / 47501MiB (51% inode=97%);| \
                /=47763685376B;243497277849;257024904396;0;270552530944\n";
    let section = parse(disk, Some(0)).expect("parses");
    let root = &section.perfdata["/"];
    assert_eq!(root.value, 47_763_685_376.0);
    assert_eq!(root.unit, "B");
    assert_eq!(root.max, Some(270_552_530_944.0));
    let swap = "SWAP CRITICAL - 0% free (0MB out of 0MB) - Swap is either disabled, not \
                present, or of zero size. |swap=0B;0;0;0;0\n";
    let section = parse(swap, Some(2)).expect("parses");
    assert_eq!(section.state, NagiosState::Critical);
    assert_eq!(section.code, 2);
    assert_eq!(section.perfdata["swap"].unit, "B");
}

#[test]
fn reads_long_output_and_perfdata_on_later_lines() {
    // The guidelines' own example of a multi-line plugin output.
    let output = "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n\
                  / 15272 MB (77%);\n\
                  /boot 68 MB (69%);\n\
                  /home 69357 MB (27%);\n\
                  /var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n\
                  /home=69357MB;253404;253409;0;253414\n\
                  'var log'=818MB;970;975;0;980 'it''s'=5%;;;;\n";
    let section = parse(output, Some(0)).expect("parses");
    assert_eq!(section.message, "DISK OK - free space: / 3326 MB (56%);");
    assert_eq!(
        section.long_output,
        "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);"
    );
    let labels: Vec<_> = section.perfdata.keys().map(String::as_str).collect();
    assert_eq!(labels, ["/", "/boot", "/home", "it's", "var log"]);
    assert_eq!(section.perfdata["var log"].value, 818.0);
    assert_eq!(section.perfdata["it's"].unit, "%");
    assert_eq!(section.perfdata["it's"].warn, None);
}

#[test]
fn maps_exit_codes_to_states() {
    for (code, state) in [
        (Some(0), NagiosState::Ok),
        (Some(1), NagiosState::Warning),
        (Some(2), NagiosState::Critical),
        (Some(3), NagiosState::Unknown),
        (Some(127), NagiosState::Unknown),
        (None, NagiosState::Unknown),
    ] {
        assert_eq!(parse("X\n", code).expect("parses").state, state, "{code:?}");
    }
    assert_eq!(parse("", Some(0)).expect("parses").message, "(no output)");
    assert!(parse("OK | a=U;1;2\n", Some(0))
        .expect("parses")
        .perfdata
        .is_empty());
}

#[test]
fn names_the_line_of_bad_perfdata() {
    let err = parse("OK\nmore\n| a=1 b\n", Some(0)).expect_err("b has no =");
    assert_eq!(err.line, Some(3), "{err}");
    let err = parse("OK | a=high\n", Some(0)).expect_err("not a number");
    assert_eq!(err.line, Some(1), "{err}");
    assert!(err.message.contains("`a`"), "{err}");
    let err = parse("OK | 'open=1\n", Some(0)).expect_err("unclosed quote");
    assert!(err.message.contains("quote"), "{err}");
}
