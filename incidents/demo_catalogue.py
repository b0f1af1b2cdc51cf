"""What the demo tells: the lab's people, services, recurring problems and the ways things break.

Pure data for `incidents.demo`, which plans and replays the incident history through the services.
"""

import random
from dataclasses import dataclass

from .choices import Category, HoldReason, IncidentType, Level, ResolutionCode, Role, Source
from .reference_data import LAB_SERVICES

H = Level.HIGH
M = Level.MEDIUM
L = Level.LOW

# --- people --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str | None  # a Role group; None for reporters without a process role
    is_staff: bool = True
    is_superuser: bool = False
    label: str = ""  # what the logins table shows when there is no role

    @property
    def role_label(self) -> str:
        return self.role or self.label


USERS = (
    DemoUser("admin", "Ada", "Admin", None, is_superuser=True, label="Superuser"),
    DemoUser("desk", "Dana", "Desk", Role.SERVICE_DESK),
    DemoUser("lena", "Lena", "Vogt", Role.SERVICE_DESK),
    DemoUser("sysadmin", "Sam", "Sysadmin", Role.SYSADMINS),
    DemoUser("tomas", "Tomás", "Herrera", Role.SYSADMINS),
    DemoUser("ines", "Inês", "Carvalho", Role.SYSADMINS),
    DemoUser("expert", "Erin", "Expert", Role.EXPERTS),
    DemoUser("marta", "Marta", "Kowalska", Role.EXPERTS),  # RF / SDR engineer
    DemoUser("karl", "Karl", "Brandt", Role.EXPERTS),  # database administrator
    DemoUser("vendor", "Victor", "Vendor", Role.EXTERNAL),  # server and storage vendor support
    DemoUser("rfsupport", "Priya", "Nair", Role.EXTERNAL),  # RF front-end supplier
    DemoUser("manager", "Maria", "Manager", Role.INCIDENT_MANAGERS),
    DemoUser("yuki", "Yuki", "Sato", Role.INCIDENT_MANAGERS),
    DemoUser("director", "Dirk", "Director", Role.MANAGEMENT),
    DemoUser("security", "Sasha", "Security", Role.SECURITY_TEAM),
    DemoUser("ravi", "Ravi", "Menon", Role.SECURITY_TEAM),
    DemoUser("ops", "Olga", "Olsen", Role.OPERATIONS),  # runs the lab's services; reads the weekly summary
    DemoUser("okafor", "Ngozi", "Okafor", None, is_staff=False, label="Reporter (researcher)"),
    DemoUser("lindqvist", "Johan", "Lindqvist", None, is_staff=False, label="Reporter (researcher)"),
    DemoUser("tanaka", "Mei", "Tanaka", None, is_staff=False, label="Reporter (observer)"),
    DemoUser("monitoring", "Alert", "Manager", None, is_staff=False, label="API client (monitoring)"),
)

DESK = ("desk", "lena")
MANAGERS = ("manager", "yuki")
RESEARCHERS = ("okafor", "lindqvist", "tanaka")
POOLS = {  # who investigates what
    Role.SYSADMINS: ("sysadmin", "tomas", "ines"),
    Role.EXPERTS: ("expert", "marta", "karl"),
    Role.SECURITY_TEAM: ("security", "ravi"),
}
SPECIALISTS = {"sdr-array": ("marta", "expert"), "antenna-feed": ("marta", "expert"), "postgresql": ("karl",)}
VENDORS = {"sdr-array": "rfsupport", "antenna-feed": "rfsupport"}  # everything else: "vendor"

# --- the service catalogue -----------------------------------------------------------------------------


# The lab's catalogue is reference data (seeded by migration); the demo adds its stakeholders.
SERVICES = LAB_SERVICES

# --- problems (underlying causes several incidents share) -----------------------------------------------


@dataclass(frozen=True)
class DemoProblem:
    key: str
    days_ago: int
    author: str
    title: str
    description: str
    workaround: str
    change_ref: str


PROBLEMS = (
    DemoProblem(
        "ceph-hba",
        150,
        "sysadmin",
        "Ceph OSDs on pve-03 flap under load (HBA firmware)",
        "OSDs on pve-03 are marked down for a few seconds under heavy recovery traffic. The HBA logs "
        "controller resets; the vendor confirms a firmware defect fixed in 16.17.",
        "Set noout before maintenance and restart the flapping OSD; recovery completes on its own.",
        "CHG-0042",
    ),
    DemoProblem(
        "sfp-batch",
        112,
        "tomas",
        "Core uplinks flap: faulty batch of SFP+ optics",
        "Several 10G optics from one delivery show rising RX errors before the link drops.",
        "Move the uplink to the spare port with a known-good optic.",
        "CHG-0057",
    ),
    DemoProblem(
        "sdr2-usb",
        76,
        "marta",
        "SDR-2 drops samples above 2 MS/s (USB 3 controller)",
        "The acquisition host's USB 3 controller cannot sustain SDR-2's stream above 2 MS/s; overflows "
        "show as 'O' in the acquisition log.",
        "Run SDR-2 at 2.0 MS/s, or move it to the host with the PCIe USB card.",
        "CHG-0071",
    ),
    DemoProblem(
        "pg-backup-lag",
        41,
        "karl",
        "Replica lag during the nightly base backup",
        "pg_basebackup saturates the replica's disks, so WAL replay falls behind for up to an hour.",
        "Backups throttled to 50 MB/s; the portal reads from the primary during the backup window.",
        "CHG-0088",
    ),
)

# --- what breaks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    service: str
    title: str
    incident_type: str
    category: str
    levels: tuple[tuple[str, str], ...]  # (urgency, impact) choices
    description: str
    resolution: str
    code: str = ResolutionCode.FIXED
    problem: str = ""
    sources: tuple[str, ...] = (Source.MONITORING, Source.USER, Source.OPERATIONS)
    weight: int = 2


INFRA, APP, SEC, OBS = Category.INFRASTRUCTURE, Category.APPLICATION, Category.SECURITY, Category.OBSERVATORY
HOST, NET, DB = IncidentType.HOST_FAILURE, IncidentType.NETWORK_OUTAGE, IncidentType.DATABASE_UNAVAILABLE
APPERR, ACCESS = IncidentType.APPLICATION_ERROR, IncidentType.UNAUTHORIZED_ACCESS
MALWARE, SDR, FEED = IncidentType.MALWARE, IncidentType.SDR_FAILURE, IncidentType.FEED_ISSUE
INFRA_OTHER, SEC_OTHER = IncidentType.INFRASTRUCTURE_OTHER, IncidentType.SECURITY_OTHER
OBS_OTHER = IncidentType.OBSERVATORY_OTHER
OTHER = "other"  # the work notes and hold reasons of a type without its own
MON, USR, OPS = Source.MONITORING, Source.USER, Source.OPERATIONS

SCENARIOS = (
    # Proxmox
    Scenario(
        "pve-cluster",
        "{host} unreachable, HA migrated {vms} VMs",
        HOST,
        INFRA,
        ((H, H), (H, M)),
        "{host} stopped answering corosync and IPMI ping; the HA manager fenced it and restarted its VMs.",
        "Failed PSU replaced; {host} rejoined the cluster and the VMs were balanced back.",
        sources=(MON, OPS),
        weight=4,
    ),
    Scenario(
        "pve-cluster",
        "{host} kernel panic after updating to {kernel}",
        HOST,
        INFRA,
        ((H, M), (M, M)),
        "Host rebooted into {kernel} and panicked in the NIC driver during boot.",
        "Booted the previous kernel and pinned it until the fixed package is released.",
        code=ResolutionCode.WORKAROUND,
        sources=(MON, OPS),
    ),
    Scenario(
        "pve-cluster",
        "Corosync quorum lost briefly on the pve cluster",
        HOST,
        INFRA,
        ((H, H), (H, M)),
        "All nodes logged 'quorum lost' for 40 s; no VM was fenced but the GUI showed nodes as offline.",
        "Corosync ring moved to the dedicated VLAN and the second link configured.",
        sources=(MON,),
    ),
    Scenario(
        "pve-cluster",
        "{host} ECC memory errors, DIMM {dimm} flagged",
        HOST,
        INFRA,
        ((M, L), (L, M)),
        "IPMI SEL shows correctable ECC errors rising on {dimm}.",
        "DIMM {dimm} replaced under warranty; memtest clean.",
        sources=(MON,),
    ),
    Scenario(
        "pve-cluster",
        "vzdump backup of VM {vmid} stuck, lock held on {host}",
        INFRA_OTHER,
        INFRA,
        ((L, M), (L, L)),
        "Nightly backup job did not finish; the VM is locked ('backup') and cannot be migrated.",
        "Removed the stale lock and re-ran the backup successfully.",
        sources=(MON, OPS),
    ),
    Scenario(
        "pve-cluster",
        "Server room temperature alarm (CRAC unit 2)",
        INFRA_OTHER,
        INFRA,
        ((H, H), (H, M)),
        "Inlet temperatures above 30 °C in racks A3-A5; CRAC unit 2 reports a compressor fault.",
        "Facilities restarted the compressor; temperatures back to 22 °C.",
        sources=(MON, OPS),
        weight=1,
    ),
    # Ceph
    Scenario(
        "ceph",
        "Ceph HEALTH_WARN: {osds} OSDs down",
        HOST,
        INFRA,
        ((M, H), (H, M)),
        "ceph -s reports {osds} OSDs down on {host}; PGs degraded, recovery running.",
        "Failed disks replaced, OSDs recreated and backfill finished; HEALTH_OK.",
        sources=(MON,),
        weight=4,
    ),
    Scenario(
        "ceph",
        "Ceph osd.{osd_id} flapping on pve-03",
        HOST,
        INFRA,
        ((M, M), (M, H)),
        "osd.{osd_id} marked down and up repeatedly during recovery; HBA logs a controller reset.",
        "OSD restarted with noout set; root cause tracked in the HBA firmware problem.",
        code=ResolutionCode.WORKAROUND,
        problem="ceph-hba",
        sources=(MON,),
        weight=3,
    ),
    Scenario(
        "ceph",
        "Ceph pool 'vm-disks' {pct}% full",
        INFRA_OTHER,
        INFRA,
        ((M, M), (H, M)),
        "The vm-disks pool passed the nearfull ratio; new VM disks will fail soon.",
        "Pruned old snapshots and added two OSDs; pool at 64%.",
        sources=(MON,),
    ),
    Scenario(
        "ceph",
        "Slow ops on Ceph: {n} requests blocked > 32 s",
        HOST,
        INFRA,
        ((H, M), (M, H)),
        "VMs report I/O stalls; ceph health detail lists slow ops on several OSDs of {host}.",
        "A failing SSD (DB/WAL device) was throttling the OSDs; replaced.",
        sources=(MON, USR),
    ),
    Scenario(
        "ceph",
        "Ceph PG {pg} inconsistent after deep-scrub",
        INFRA_OTHER,
        INFRA,
        ((L, M), (L, L)),
        "Deep-scrub found an inconsistent object in PG {pg}.",
        "pg repair run; SMART of the involved disks checked, nothing else found.",
        sources=(MON,),
    ),
    # network
    Scenario(
        "core-network",
        "Uplink flapping on sw-core-1 port Te1/0/49",
        NET,
        INFRA,
        ((H, M), (H, H)),
        "The uplink to the server room went down and up six times in ten minutes; RX errors rising.",
        "Moved the uplink to Te1/0/50 with a known-good optic.",
        code=ResolutionCode.WORKAROUND,
        problem="sfp-batch",
        sources=(MON,),
        weight=3,
    ),
    Scenario(
        "core-network",
        "{switch} unreachable, rack {rack} offline",
        NET,
        INFRA,
        ((H, H), (H, M)),
        "Everything behind {switch} is unreachable; the switch does not answer on its management port.",
        "Switch power supply replaced; config restored from backup and verified.",
        sources=(MON, OPS),
    ),
    Scenario(
        "core-network",
        "Packet loss on the fibre link to the observatory ({pct}%)",
        NET,
        INFRA,
        ((H, M), (M, H)),
        "Smokeping shows {pct}% loss to the observatory site; SDR data transfer falls behind.",
        "Dirty connector on the patch panel cleaned; loss back to 0%.",
        sources=(MON, USR),
    ),
    Scenario(
        "core-network",
        "DHCP pool exhausted on VLAN {vlan}",
        NET,
        INFRA,
        ((L, M), (M, L)),
        "New laptops get no address on VLAN {vlan}; the pool is full of stale leases.",
        "Lease time shortened and the pool enlarged.",
        sources=(USR, MON),
    ),
    Scenario(
        "core-network",
        "DNS resolution slow for *.lab.example",
        NET,
        INFRA,
        ((M, M), (M, H)),
        "Lookups take 2-5 s; ns1 is at 100% CPU.",
        "Resolver restarted; rate limiting for the misbehaving client added and ns2 put first in DHCP.",
        sources=(USR, MON),
    ),
    Scenario(
        "core-network",
        "Firewall HA failover, established sessions dropped",
        NET,
        INFRA,
        ((H, M),),
        "fw-1 failed over to fw-2; SSH and VPN sessions dropped.",
        "Heartbeat link cable replaced; failover tested.",
        sources=(MON,),
        weight=1,
    ),
    # PostgreSQL
    Scenario(
        "postgresql",
        "PostgreSQL replica lag {lag} min during nightly backup",
        DB,
        APP,
        ((M, M), (M, H)),
        "pg-replica-1 is {lag} minutes behind; the portal shows stale observation schedules.",
        "Lag recovered after the backup finished; throttling tracked in the problem record.",
        code=ResolutionCode.WORKAROUND,
        problem="pg-backup-lag",
        sources=(MON,),
        weight=3,
    ),
    Scenario(
        "postgresql",
        "pg-main out of disk space (WAL archive)",
        DB,
        APP,
        ((H, H),),
        "pg-main stopped accepting writes: WAL archive volume full after the archive target was down.",
        "Archive target fixed, archived WAL pruned, volume extended by 200 GB.",
        sources=(MON,),
    ),
    Scenario(
        "postgresql",
        "Connection limit reached on pg-main",
        DB,
        APP,
        ((H, M), (M, M)),
        "'too many clients already' errors from the portal and JupyterHub.",
        "A leaking notebook held 300 connections; killed, pgbouncer put in front of pg-main.",
        sources=(MON, USR),
    ),
    Scenario(
        "postgresql",
        "Observation catalogue queries slow after autovacuum stalled",
        DB,
        APP,
        ((M, L), (L, M)),
        "Catalogue searches take > 30 s; the main table is heavily bloated.",
        "Long-running idle transaction terminated; VACUUM (ANALYZE) run, queries back to 200 ms.",
        sources=(USR,),
    ),
    Scenario(
        "postgresql",
        "Failover to pg-replica-1 after primary crash",
        DB,
        APP,
        ((H, H),),
        "pg-main crashed (OOM killer); Patroni promoted pg-replica-1.",
        "Old primary rebuilt as replica; memory limits corrected.",
        sources=(MON,),
        weight=1,
    ),
    # portal
    Scenario(
        "web-portal",
        "Portal 502 after deploy",
        APPERR,
        APP,
        ((H, M), (H, H)),
        "portal.lab.example returns 502 Bad Gateway since release {release}.",
        "Rolled back {release}; gunicorn worker timeout fixed and redeployed.",
        sources=(MON, USR),
        weight=3,
    ),
    Scenario(
        "web-portal",
        "Portal login loop for external collaborators",
        APPERR,
        APP,
        ((M, M), (H, L)),
        "Collaborators from partner institutes bounce between the portal and Keycloak.",
        "SameSite cookie setting corrected for the federated login.",
        sources=(USR,),
    ),
    Scenario(
        "web-portal",
        "Proposal upload fails for files > 100 MB",
        APPERR,
        APP,
        ((L, M), (M, L)),
        "Uploads of large proposal attachments end with 413.",
        "Raised client_max_body_size on the proxy.",
        sources=(USR,),
    ),
    Scenario(
        "web-portal",
        "Expired TLS certificate on portal.lab.example",
        APPERR,
        APP,
        ((H, H),),
        "Browsers refuse the portal: the certificate expired at midnight.",
        "Certificate renewed; the ACME renewal timer had been disabled by an upgrade, re-enabled.",
        sources=(USR, MON),
        weight=1,
    ),
    Scenario(
        "web-portal",
        "Portal search returns no results",
        APPERR,
        APP,
        ((M, L), (L, M)),
        "Any search on the portal returns an empty list; the search index is empty.",
        "Reindex job re-run; the cron entry was lost in the last deploy.",
        sources=(USR,),
    ),
    # identity
    Scenario(
        "identity-sso",
        "Keycloak login fails: LDAP connection refused",
        APPERR,
        APP,
        ((H, H), (H, M)),
        "Nobody can sign in to lab services; Keycloak's LDAP federation reports connection refused.",
        "slapd restarted on ldap-1 after a full log partition; log rotation fixed.",
        sources=(USR, MON),
    ),
    Scenario(
        "identity-sso",
        "Password reset e-mails not delivered",
        APPERR,
        APP,
        ((M, L), (L, M)),
        "Users requesting a password reset receive nothing.",
        "SMTP relay credentials in Keycloak updated after the relay's password rotation.",
        sources=(USR,),
    ),
    Scenario(
        "identity-sso",
        "LDAP replication broken between ldap-1 and ldap-2",
        INFRA_OTHER,
        INFRA,
        ((M, M),),
        "New accounts exist on ldap-1 only; syncrepl on ldap-2 stuck on an old contextCSN.",
        "ldap-2 re-initialised from ldap-1; monitoring check for contextCSN drift added.",
        sources=(MON, OPS),
    ),
    # JupyterHub
    Scenario(
        "jupyterhub",
        "JupyterHub spawner timeout for GPU profiles",
        APPERR,
        APP,
        ((M, M), (H, L)),
        "GPU servers fail to start within 120 s; CPU profiles work.",
        "Image pre-pulled on the GPU nodes and the spawn timeout raised to 300 s.",
        sources=(USR,),
        weight=3,
    ),
    Scenario(
        "jupyterhub",
        "gpu-{gpu} out of memory, kernels killed",
        HOST,
        INFRA,
        ((M, L), (M, M)),
        "The OOM killer ended several notebook kernels on gpu-{gpu}.",
        "Per-user memory limits enforced in the GPU profile.",
        sources=(USR, MON),
    ),
    Scenario(
        "jupyterhub",
        "Shared /home quota full on compute nodes",
        INFRA_OTHER,
        INFRA,
        ((H, M),),
        "Writes to /home fail for everyone; one user wrote 3 TB of intermediate FFT files.",
        "Files moved to scratch with the user's consent; quotas enforced per user.",
        sources=(USR, MON),
    ),
    Scenario(
        "jupyterhub",
        "JupyterHub down after image update",
        APPERR,
        APP,
        ((H, H), (H, M)),
        "The hub pod crash-loops after the base image update.",
        "Pinned the previous image; incompatible extension removed before re-updating.",
        sources=(MON, USR),
    ),
    Scenario(
        "jupyterhub",
        "Slurm queue stuck, jobs pending for hours",
        INFRA_OTHER,
        INFRA,
        ((M, H), (M, M)),
        "All jobs pending with reason 'Resources' although nodes are idle.",
        "slurmctld restarted after a node state mismatch; nodes resumed.",
        sources=(USR,),
    ),
    # SDR receivers
    Scenario(
        "sdr-array",
        "SDR-2 dropping samples at {rate} MS/s",
        SDR,
        OBS,
        ((M, M), (H, M)),
        "Acquisition log full of overflows ('O') on SDR-2 at {rate} MS/s; gaps in tonight's data.",
        "SDR-2 set back to 2.0 MS/s as documented in the problem's workaround.",
        code=ResolutionCode.WORKAROUND,
        problem="sdr2-usb",
        sources=(USR, OPS),
        weight=3,
    ),
    Scenario(
        "sdr-array",
        "{sdr} not detected after reboot",
        SDR,
        OBS,
        ((H, M), (M, M)),
        "uhd_find_devices no longer lists {sdr} after the acquisition host rebooted.",
        "Power-cycled the receiver; firmware image reloaded.",
        sources=(OPS, MON),
    ),
    Scenario(
        "sdr-array",
        "{sdr} unlocked from the 10 MHz reference",
        SDR,
        OBS,
        ((H, H), (H, M)),
        "{sdr} reports ref_locked=false; phase between receivers drifting.",
        "Loose SMA on the distribution amplifier re-seated; lock stable for 24 h.",
        sources=(MON,),
    ),
    Scenario(
        "sdr-array",
        "GPSDO holdover alarm on timing distribution",
        SDR,
        OBS,
        ((M, H),),
        "The GPSDO lost GPS lock and runs in holdover; timestamps will drift.",
        "GPS antenna cable replaced after water ingress.",
        sources=(MON,),
    ),
    Scenario(
        "sdr-array",
        "Acquisition pipeline crashes on FFT buffer overflow",
        SDR,
        OBS,
        ((M, M),),
        "The pipeline exits with 'buffer overflow' at {rate} MS/s with 64k-point FFTs.",
        "Ring buffer enlarged and FFT threads pinned to isolated cores.",
        sources=(OPS, USR),
    ),
    Scenario(
        "sdr-array",
        "Strong RFI spike near 1421 MHz in all receivers",
        SDR,
        OBS,
        ((L, M), (M, L)),
        "A narrow spike next to the hydrogen line appears in every receiver since this morning.",
        "Traced to a visitor's device in the control room; gone once it was switched off.",
        code=ResolutionCode.NO_FAULT_FOUND,
        sources=(USR, OPS),
    ),
    # antenna feed
    Scenario(
        "antenna-feed",
        "Hydrogen-line feed LNA current out of range",
        FEED,
        OBS,
        ((H, M), (H, H)),
        "LNA bias current reads {ma} mA (nominal 60 mA); system temperature doubled.",
        "LNA replaced with the spare; the faulty unit sent to the supplier for repair.",
        sources=(MON, OPS),
        weight=3,
    ),
    Scenario(
        "antenna-feed",
        "Antenna drive stuck at elevation {el}°",
        FEED,
        OBS,
        ((H, H), (H, M)),
        "The dish stopped at {el}° elevation; the drive controller reports a motor overcurrent.",
        "Elevation brake adjusted and the drive controller reset; tracking test passed.",
        sources=(OPS, MON),
    ),
    Scenario(
        "antenna-feed",
        "Azimuth encoder reading jumps by 0.5°",
        FEED,
        OBS,
        ((M, M),),
        "Pointing model fits fail; the azimuth encoder value jumps during slews.",
        "Encoder coupling tightened; pointing re-calibrated on Cas A.",
        sources=(OPS,),
    ),
    Scenario(
        "antenna-feed",
        "Coax loss on the L-band feed up {db} dB",
        FEED,
        OBS,
        ((L, M), (M, L)),
        "Cal source measurements show {db} dB more loss than last month.",
        "Corroded N connector at the feed replaced.",
        sources=(OPS,),
    ),
    Scenario(
        "antenna-feed",
        "Weather station offline, no wind data for the drive interlock",
        OBS_OTHER,
        OBS,
        ((M, M), (L, M)),
        "Without wind data the drive interlock keeps the dish stowed.",
        "Weather station serial converter replaced.",
        sources=(MON, OPS),
        weight=1,
    ),
    # archive and backup
    Scenario(
        "data-archive",
        "Nightly backup to tape failed: drive {n} offline",
        HOST,
        INFRA,
        ((M, M), (M, L)),
        "Bacula reports tape drive {n} offline; last night's full backup did not run.",
        "Drive cleaned and firmware updated by the vendor; backup re-run.",
        sources=(MON,),
    ),
    Scenario(
        "data-archive",
        "ZFS pool 'archive' degraded: disk {n} faulted",
        HOST,
        INFRA,
        ((H, M), (M, H)),
        "zpool status shows disk {n} FAULTED; the pool runs without redundancy in one vdev.",
        "Disk replaced, resilver finished, scrub clean.",
        sources=(MON,),
    ),
    Scenario(
        "data-archive",
        "Observation archive ingest backlog of {files} files",
        INFRA_OTHER,
        INFRA,
        ((M, M), (L, M)),
        "The ingest queue holds {files} files; new observations are not searchable.",
        "Stuck ingest worker restarted; checksum step parallelised.",
        sources=(MON, USR),
    ),
    Scenario(
        "data-archive",
        "Restore request from the archive taking more than 24 h",
        INFRA_OTHER,
        INFRA,
        ((L, L), (L, M)),
        "A researcher's restore of a 2 TB observation set has not progressed since yesterday.",
        "Restore job re-queued on the other tape drive; data delivered.",
        sources=(USR,),
        weight=1,
    ),
    # security
    Scenario(
        "core-network",
        "Suspicious SSH logins on bastion",
        ACCESS,
        SEC,
        ((H, H), (H, M)),
        "Successful logins to bastion.lab.example from an unknown address range at 03:00 for {account}.",
        "Credentials rotated, key-only SSH enforced, source blocked; no lateral movement found.",
        sources=(MON, OPS),
        weight=1,
    ),
    Scenario(
        "identity-sso",
        "Brute-force attempts against the Keycloak admin console",
        ACCESS,
        SEC,
        ((M, H), (M, M)),
        "Thousands of failed admin logins from a botnet; admin console reachable from the internet.",
        "Admin console restricted to the VPN; brute-force detection enabled.",
        sources=(MON,),
        weight=1,
    ),
    Scenario(
        "identity-sso",
        "Phishing e-mail targeting lab accounts reported",
        SEC_OTHER,
        SEC,
        ((M, M), (H, M)),
        "Several users received a fake 'SSO password expiry' mail; one clicked the link.",
        "Mail purged from mailboxes, the affected password reset, warning sent to all staff.",
        sources=(USR,),
        weight=1,
    ),
    Scenario(
        "jupyterhub",
        "Crypto-miner process found on gpu-{gpu}",
        MALWARE,
        SEC,
        ((H, H),),
        "An 'xmrig' process runs at 100% GPU under a compromised user account.",
        "Account locked, node re-imaged, notebook token leak closed.",
        sources=(MON, OPS),
        weight=1,
    ),
    Scenario(
        "pve-cluster",
        "Outdated OpenSSH flagged by vulnerability scan on {host}",
        SEC_OTHER,
        SEC,
        ((L, M), (M, L)),
        "The monthly scan flags OpenSSH on {host} as vulnerable.",
        "Host updated in the maintenance window; rescan clean.",
        sources=(MON,),
        weight=1,
    ),
    Scenario(
        "web-portal",
        "Portal admin token leaked in a public Git repository",
        ACCESS,
        SEC,
        ((H, H), (H, M)),
        "Secret scanning found the portal's admin API token in a collaborator's public repository.",
        "Token revoked and rotated; audit log shows no use of it.",
        sources=(OPS, USR),
        weight=1,
    ),
)

WORK_NOTES = {
    HOST: (
        "IPMI SEL checked: {detail}.",
        "Ceph status checked, no data loss; recovery running.",
        "VMs confirmed running on the remaining nodes.",
        "Vendor case opened with the SEL export attached.",
        "Hardware logs collected (dmesg, SEL) and attached to the vendor case.",
    ),
    NET: (
        "Interface counters show CRC errors on the affected port.",
        "No config change on the switches in the last 48 h (checked the Oxidized diff).",
        "Traffic moved to the redundant path; monitoring the link.",
        "Optic DOM values out of range: RX power -14 dBm.",
    ),
    DB: (
        "pg_stat_replication checked; replay_lag matches the alert.",
        "Disk usage and WAL archive status checked.",
        "Dependent applications reconnect fine after the change.",
        "No data loss: last WAL segment archived before the event.",
    ),
    ACCESS: (
        "Evidence preserved: auth logs and a disk snapshot taken.",
        "Affected credentials revoked; sessions terminated.",
        "No sign of lateral movement in the bastion and LDAP logs.",
        "Timeline for the post-incident review started in the wiki.",
    ),
    MALWARE: (
        "Evidence preserved: memory dump and disk snapshot of the node taken.",
        "Node isolated from the network; jobs drained to the other nodes.",
        "Scanned the other compute nodes: clean.",
        "Timeline for the post-incident review started in the wiki.",
    ),
    SEC_OTHER: (
        "Evidence preserved: the mail headers and the scan report kept.",
        "Exposure assessed with the Security Team: {detail}.",
        "Timeline for the post-incident review started in the wiki.",
    ),
    SDR: (
        "Acquisition host load checked: {detail}.",
        "Reference lock checked on the receiver: {detail}.",
        "Observation log annotated with the data gap.",
        "Receiver power-cycled remotely; watching the stream.",
    ),
    FEED: (
        "Spectrum checked with the cal source: {detail}.",
        "LNA bias current and feed cabling checked.",
        "Observation log annotated with the data gap.",
        "On-site check of the cabling scheduled with the observatory staff.",
    ),
    APPERR: (
        "Reproduced with a test account; stack trace attached.",
        "Last deploy is the only change since yesterday; diff reviewed.",
        "Error rate in the proxy logs back to baseline after the change.",
        "Workaround shared with the users in the status update.",
    ),
    OTHER: (
        "Impact confirmed with the reporter.",
        "Responsible team contacted; they are looking at it.",
        "Checked monitoring history: started {detail}.",
    ),
}
DETAILS = (
    "nothing unusual",
    "CPU at 95% on one core",
    "clear correlation with the nightly jobs",
    "first error about an hour before the alert",
    "matches the last occurrence",
)
PUBLIC_UPDATES = (
    "We are aware of problems with {service} and are working on it.",
    "{service}: the cause is identified, a fix is being applied.",
    "{service}: a workaround is in place; the permanent fix follows.",
    "Update: {service} runs with reduced capacity while we work on a permanent fix.",
)
REPORTER_COMMENTS = (
    "Still seeing it this morning.",
    "Is there an estimate? We have an observation run tonight.",
    "It also affects the data transfer to the archive.",
    "Same problem for two colleagues in my group.",
)
# Why work on each incident type waits, and what is said when it does and when it goes on.
HOLD_REASONS = {
    HOST: (HoldReason.AWAITING_VENDOR, HoldReason.AWAITING_VENDOR, HoldReason.AWAITING_CHANGE),
    NET: (HoldReason.AWAITING_VENDOR, HoldReason.AWAITING_CHANGE),
    DB: (HoldReason.AWAITING_CHANGE, HoldReason.AWAITING_USER),
    ACCESS: (HoldReason.AWAITING_USER, HoldReason.AWAITING_CHANGE),
    MALWARE: (HoldReason.AWAITING_CHANGE,),
    SEC_OTHER: (HoldReason.AWAITING_USER, HoldReason.AWAITING_CHANGE),
    SDR: (HoldReason.AWAITING_VENDOR, HoldReason.OTHER, HoldReason.OTHER),
    FEED: (HoldReason.AWAITING_VENDOR, HoldReason.OTHER, HoldReason.OTHER),
    APPERR: (HoldReason.AWAITING_USER, HoldReason.AWAITING_CHANGE),
    OTHER: (HoldReason.AWAITING_USER, HoldReason.AWAITING_CHANGE, HoldReason.AWAITING_VENDOR),
}
HARDWARE_TYPES = (HOST, NET, SDR, FEED)
HOLD_NOTES = {
    "rma": (
        "Vendor case {case} opened; waiting for the replacement part.",
        "RMA {case} approved; part ships.",
    ),
    HoldReason.AWAITING_VENDOR: ("Vendor support case {case} opened; waiting for their analysis.",),
    HoldReason.AWAITING_USER: (
        "Asked the reporter for the failing job id and the exact time.",
        "Waiting for the reporter to confirm with a new observation run.",
    ),
    HoldReason.AWAITING_CHANGE: ("Fix scheduled in {change} for the next maintenance window.",),
    HoldReason.OTHER: ("Waiting for on-site access to the observatory (weekend).",),
}
RESUME_NOTES = {
    "rma": "Replacement part arrived; installing.",
    HoldReason.AWAITING_VENDOR: "The vendor sent a fix; applying it.",
    HoldReason.AWAITING_USER: "The reporter sent the details; continuing.",
    HoldReason.AWAITING_CHANGE: "{change} approved and scheduled; implementing.",
    HoldReason.OTHER: "Site access granted; continuing on site.",
}
HOLD_HOURS = {
    HoldReason.AWAITING_VENDOR: (18, 120),
    HoldReason.AWAITING_USER: (2, 48),
    HoldReason.AWAITING_CHANGE: (24, 96),
    HoldReason.OTHER: (12, 60),
}
REOPEN_REASONS = (
    "The problem came back the next morning.",
    "Still failing for some users.",
    "Same alarm again after the reboot.",
)
# Closure notes: the record's final documentation (staff close with them).
CLOSE_NOTES_MANAGER = (
    "Confirmed with the service owner; closing.",
    "No recurrence in 48 h; closing.",
    "Fix verified on the service's dashboards; runbook steps and links complete.",
)
CLOSE_NOTES_REPORTER = ("Confirmed, works for me again. Thanks!", "All good on our side.")
FALSE_ALARMS = (
    "False alarm: the monitoring probe was misconfigured.",
    "Planned maintenance, announced last week; not an incident.",
    "Logged twice by mistake.",
    "User error: wrong VPN profile, explained by phone.",
)
OTHER_CODES = (
    ResolutionCode.FIXED,
    ResolutionCode.WORKAROUND,
    ResolutionCode.NO_FAULT_FOUND,
    ResolutionCode.OTHER,
)
OVERRIDE_UP = (
    "Observation campaign tonight depends on it: raised.",
    "Affects the external collaboration deadline: raised.",
)
OVERRIDE_DOWN = (
    "Redundancy covers it and a workaround exists: lowered.",
    "Only a test system is affected: lowered.",
)


def placeholders(rng: random.Random) -> dict:
    return {
        "host": f"pve-{rng.randint(1, 8):02d}",
        "vms": rng.randint(4, 22),
        "vmid": rng.randint(100, 240),
        "kernel": rng.choice(("6.8.12-4-pve", "6.8.12-8-pve", "6.11.0-1-pve")),
        "dimm": rng.choice(("A1", "A2", "B2", "C1")),
        "osds": rng.randint(1, 3),
        "osd_id": rng.randint(0, 47),
        "pg": f"{rng.randint(2, 9)}.{rng.randint(0, 255):x}",
        "pct": rng.randint(82, 93),
        "n": rng.randint(2, 9),
        "switch": rng.choice(("sw-rack-a3", "sw-rack-b1", "sw-obs-1", "sw-core-2")),
        "rack": rng.choice(("A3", "B1", "OBS", "C2")),
        "vlan": rng.choice((20, 30, 120)),
        "lag": rng.choice((12, 25, 40, 55, 90)),
        "release": f"v2.{rng.randint(3, 9)}.{rng.randint(0, 4)}",
        "gpu": f"{rng.randint(1, 4):02d}",
        "sdr": f"SDR-{rng.choice((1, 3, 4))}",
        "rate": rng.choice(("2.4", "3.2", "5.0")),
        "ma": rng.choice((12, 18, 95, 110)),
        "el": rng.randint(12, 80),
        "db": rng.choice((1.5, 2, 3)),
        "files": rng.choice((1200, 4800, 12000)),
        "account": rng.choice(("svc-backup", "obs-ops", "a former student's account")),
    }
