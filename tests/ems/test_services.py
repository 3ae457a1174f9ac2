"""Get-Service and Stop-/Start-/Restart-Service over the fake host: the services of each role,
PowerShell's ServiceController views, and the one switch they share with Stop-/Start-LabServer."""

from __future__ import annotations

from ems_fakes import FakeHost

from labsim.ems import Shell


def on(host: FakeHost, server: str) -> Shell:
    return Shell(host, "Adatum", server)


def test_get_service_lists_a_client_access_servers_exchange_services(host: FakeHost) -> None:
    result = on(host, "ADATUM-CAS1").run("Get-Service *Exchange*")
    assert result.ok, result.error
    # PowerShell's fixed table: Status (8), Name (18), DisplayName (38), cut with "...".
    assert result.output.splitlines() == [
        "Status   Name               DisplayName",
        "------   ----               -----------",
        "Running  MSExchangeADTop... Microsoft Exchange Active Directory...",
        "Running  MSExchangeDiagn... Microsoft Exchange Diagnostics",
        "Running  MSExchangeFront... Microsoft Exchange Frontend Transport",
        "Running  MSExchangeHM       Microsoft Exchange Health Manager",
        "Running  MSExchangeServi... Microsoft Exchange Service Host",
        "Running  MSExchangeUMCR     Microsoft Exchange Unified Messagin...",
    ]


def test_a_mailbox_server_runs_transport_delivery_and_submission(host: FakeHost) -> None:
    result = on(host, "ADATUM-MBX1").run("Get-Service *Exchange*Transport*,*Delivery,*Submission")
    names = [line.split()[1] for line in result.output.splitlines()[2:]]
    assert names == [
        "MSExchangeDelivery",
        "MSExchangeSubmi...",
        "MSExchangeTrans...",
        "MSExchangeTrans...",
    ]
    shown = on(host, "ADATUM-MBX1").run("Get-Service MSExchangeTransport | FL")
    assert shown.output.splitlines() == [
        "Name                : MSExchangeTransport",
        "DisplayName         : Microsoft Exchange Transport",
        "Status              : Running",
        "DependentServices   : {}",
        "ServicesDependedOn  : {MSExchangeADTopology}",
        "CanPauseAndContinue : False",
        "CanShutdown         : True",
        "CanStop             : True",
        "ServiceType         : Win32OwnProcess",
    ]


def test_stop_and_start_the_transport_service_turn_the_lab_servers_switch(
    host: FakeHost,
) -> None:
    shell = on(host, "ADATUM-CAS1")
    stopped = shell.run("Stop-Service MSExchangeFrontEndTransport")
    assert stopped.ok and stopped.output == ""
    assert host.stopped == {"ADATUM-CAS1"}
    assert shell.run("(Get-Service MSExchangeFrontEndTransport).Status").output == "Stopped"
    assert shell.run("(Get-LabServer ADATUM-CAS1).Running").output == "False"
    # Stopping a stopped service, starting a running one: PowerShell prints nothing.
    again = shell.run("Stop-Service MSExchangeFrontEndTransport")
    assert again.ok and again.output == ""
    assert shell.run("Start-Service MSExchangeFrontEndTransport").output == ""
    assert host.stopped == set()
    assert shell.run("Start-Service MSExchangeFrontEndTransport").output == ""
    assert host.stopped == set()
    # The lab action and the service are one switch.
    assert shell.run("Stop-LabServer ADATUM-CAS1").ok
    assert shell.run("(Get-Service MSExchangeFrontEndTransport).Status").output == "Stopped"


def test_restart_stops_then_starts(host: FakeHost) -> None:
    result = on(host, "ADATUM-MBX1").run("Restart-Service MSExchangeTransport -PassThru")
    assert result.ok, result.error
    assert host.server_actions == [
        "stop ADATUM-MBX1 (Restart-Service MSExchangeTransport)",
        "start ADATUM-MBX1 (Restart-Service MSExchangeTransport)",
    ]
    assert (
        result.output.splitlines()[-1] == "Running  MSExchangeTrans... Microsoft Exchange Transport"
    )
    # A stopped service is just started.
    host.stopped.add("ADATUM-MBX1")
    host.server_actions.clear()
    assert on(host, "ADATUM-MBX1").run("Restart-Service MSExchangeTransport").ok
    assert host.server_actions == ["start ADATUM-MBX1 (Restart-Service MSExchangeTransport)"]


def test_services_labsim_does_not_model_refuse_to_stop(host: FakeHost) -> None:
    shell = on(host, "ADATUM-MBX1")
    delivery = shell.run("Stop-Service MSExchangeDelivery")
    assert str(delivery.error) == (
        "Stop-Service: Service 'Microsoft Exchange Mailbox Transport Delivery "
        "(MSExchangeDelivery)' cannot be stopped in labsim: labsim does not model it. The mail "
        "flow of a Client Access server runs in MSExchangeFrontEndTransport, of a Mailbox server "
        "in MSExchangeTransport; stop those."
    )
    topology = shell.run("Stop-Service MSExchangeADTopology")
    assert str(topology.error) == (
        "Stop-Service: Cannot stop service 'Microsoft Exchange Active Directory Topology "
        "(MSExchangeADTopology)' because it has dependent services. It can only be stopped if "
        "the Force flag is set."
    )
    assert "labsim does not model it" in str(
        shell.run("Stop-Service MSExchangeADTopology -Force").error
    )
    assert host.stopped == set()


def test_unknown_names_and_empty_wildcards(host: FakeHost) -> None:
    shell = on(host, "ADATUM-CAS1")
    unknown = shell.run("Get-Service MSExchangeTransprt")
    assert str(unknown.error).startswith(
        "Get-Service: Cannot find any service with service name 'MSExchangeTransprt'."
    )
    assert "MSExchangeFrontEndTransport" in str(unknown.error)
    nothing = shell.run("Get-Service Nothing*")
    assert nothing.ok and nothing.output == ""
    assert str(shell.run("Stop-Service NoSuchService").error).startswith(
        "Stop-Service: Cannot find any service with service name 'NoSuchService'."
    )
    # The display name finds a service too, without wildcards.
    named = shell.run("(Get-Service 'Microsoft Exchange Frontend Transport').Name")
    assert named.output == "MSExchangeFrontEndTransport"


def test_no_server_says_how_to_pick_one(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run("Get-Service")
    assert str(result.error) == (
        "Get-Service: labsim's shell runs on no server, so there is no local computer to read "
        "services from. Type :server ADATUM-CAS1 first, or name the server: Get-Service "
        "-ComputerName ADATUM-CAS1"
    )
    assert "Type :server ADATUM-CAS1 first" in str(
        adatum.run("Stop-Service MSExchangeTransport").error
    )
    # -ComputerName, and a piped service, work from a shell on no server.
    listed = adatum.run(
        "Get-Service -ComputerName ADATUM-MBX1 MSExchangeTransport | FL MachineName"
    )
    assert listed.output == "MachineName : ADATUM-MBX1"
    piped = adatum.run(
        "Get-Service -ComputerName ADATUM-MBX1 -Name MSExchangeTransport | Stop-Service"
    )
    assert piped.ok, piped.error
    assert host.stopped == {"ADATUM-MBX1"}


def test_another_organizations_computer_is_out_of_reach(adatum: Shell) -> None:
    result = adatum.run("Get-Service -ComputerName TREY-CAS1")
    assert str(result.error) == (
        "Get-Service: Cannot open Service Control Manager on computer 'TREY-CAS1'. This "
        "operation might require other privileges. (TREY-CAS1 is a server of TreyResearch, "
        "another forest: type :org TreyResearch to manage it, or stop it with the lab action "
        "Stop-LabServer TREY-CAS1.)"
    )


def test_several_computers_in_one_call(adatum: Shell) -> None:
    result = adatum.run(
        "Get-Service -ComputerName ADATUM-CAS1,ADATUM-MBX1 MSExchange*Transport | FL MachineName,Name"
    )
    assert result.output.splitlines() == [
        "MachineName : ADATUM-CAS1",
        "Name        : MSExchangeFrontEndTransport",
        "",
        "MachineName : ADATUM-MBX1",
        "Name        : MSExchangeTransport",
    ]


def test_a_service_kept_from_another_organization_is_refused(host: FakeHost) -> None:
    adatum = on(host, "ADATUM-MBX1")
    assert adatum.run("$s = Get-Service MSExchangeTransport").ok
    trey = Shell(host, "TreyResearch", "TREY-MBX1", session=adatum.session)
    result = trey.run("$s | Stop-Service")
    assert str(result.error).startswith(
        "Stop-Service: Cannot open Service Control Manager on computer 'ADATUM-MBX1'."
    )
    assert host.stopped == set()


def test_the_shells_server_is_local_whatever_its_organization(host: FakeHost) -> None:
    # Interactive :server takes any server of the lab: the admin is logged on to it.
    shell = Shell(host, "Adatum", "TREY-CAS1")
    assert shell.run("Stop-Service MSExchangeFrontEndTransport").ok
    assert host.stopped == {"TREY-CAS1"}
    shown = shell.run("Get-Service MSExchangeFrontEndTransport | Start-Service -PassThru")
    assert shown.ok, shown.error
    assert host.stopped == set()


def test_what_if_names_each_service_and_changes_nothing(host: FakeHost) -> None:
    shell = on(host, "ADATUM-MBX1")
    result = shell.run("Stop-Service MSExchangeTransport -WhatIf")
    assert result.ok, result.error
    assert result.output == (
        'What if: Performing the operation "Stop-Service" on target "Microsoft Exchange '
        'Transport (MSExchangeTransport)".'
    )
    assert host.server_running("ADATUM-MBX1")
    piped = shell.run(
        "Get-Service -ComputerName ADATUM-CAS1 MSExchangeFrontEndTransport | Restart-Service -WhatIf"
    )
    assert piped.ok, piped.error
    assert piped.output == (
        'What if: Performing the operation "Restart-Service" on target "Microsoft Exchange '
        'Frontend Transport (MSExchangeFrontEndTransport)".'
    )
    assert host.server_running("ADATUM-CAS1")
    unknown = shell.run("Start-Service Nope -WhatIf")
    assert not unknown.ok and "Cannot find any service with service name 'Nope'" in str(
        unknown.error
    )
