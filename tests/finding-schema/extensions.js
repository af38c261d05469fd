'use strict';
/*
 * Every member ecsguard writes that GuardDuty's Finding model does not have, by wire path
 * ("[]": each element of a list), with its JSON type. docs/findings.md lists the same paths in
 * its table ("extension" rows); check.js fails a line with any other member the model lacks, and
 * the docs test fails when the table and this list differ. A new extension is one line here and
 * one row there.
 *
 * Types: string, boolean, integer, number, string[], object (a JSON object ecsguard defines;
 * its members are described in the doc of the concern that writes it).
 *
 * `service.additionalInfo.value` is a string in the model; ecsguard writes a JSON object into it
 * (its members are listed here under that path). Its `context` member copies every context
 * extension of the line (the members typed consumers drop), with the same values.
 */
module.exports = {
    // the acting process and its ancestors
    'service.runtimeDetails.process.commandLine': 'string',
    'service.runtimeDetails.process.lineage[].commandLine': 'string',

    // context: capability findings
    'service.runtimeDetails.context.capabilityName': 'string',
    'service.runtimeDetails.context.capabilityGranted': 'boolean',
    'service.runtimeDetails.context.syscall': 'string',
    'service.runtimeDetails.context.syscalls': 'string[]',
    'service.runtimeDetails.context.capabilityScope': 'string',
    'service.runtimeDetails.context.hostLevel': 'boolean',
    'service.runtimeDetails.context.userNamespaceLevel': 'integer',
    'service.runtimeDetails.context.userNamespaceInode': 'integer',
    'service.runtimeDetails.context.overcommitFilter': 'string',

    // context: host namespaces and processes outside the task
    'service.runtimeDetails.context.namespaceKind': 'string',
    'service.runtimeDetails.context.hostPidNamespace': 'boolean',
    'service.runtimeDetails.context.pidNamespaceInode': 'integer',
    'service.runtimeDetails.context.detectedBy': 'string',
    'service.runtimeDetails.context.namespaceKinds': 'string[]',
    'service.runtimeDetails.context.namespaceKindsAlreadyShared': 'string[]',
    'service.runtimeDetails.context.targetNamespace': 'object',
    'service.runtimeDetails.context.targetHostProcess': 'boolean',
    'service.runtimeDetails.context.targetAllProcesses': 'boolean',
    'service.runtimeDetails.context.targetContainerId': 'string',
    'service.runtimeDetails.context.targetTaskId': 'string',
    'service.runtimeDetails.context.ptraceRequest': 'string',
    'service.runtimeDetails.context.signal': 'integer',
    'service.runtimeDetails.context.processGroup': 'boolean',

    // context: root filesystem
    'service.runtimeDetails.context.overlayLayer': 'string',
    'service.runtimeDetails.context.fileOperations': 'object',
    'service.runtimeDetails.context.writeCount': 'integer',
    'service.runtimeDetails.context.distinctFileCount': 'integer',
    'service.runtimeDetails.context.distinctFileCountIsLowerBound': 'boolean',
    'service.runtimeDetails.context.modifiedPath': 'string',
    'service.runtimeDetails.context.mappedExecutableBy': 'string',
    'service.runtimeDetails.context.writtenWhileUnwatched': 'boolean',
    'service.runtimeDetails.context.literalFilePath': 'string',
    'service.runtimeDetails.context.fileMode': 'string',
    'service.runtimeDetails.context.setuidOrSetgid': 'boolean',
    'service.runtimeDetails.context.setuidOrSetgidFiles': 'object',

    // context: a process moved out of its container's cgroup
    'service.runtimeDetails.context.destinationCgroup': 'object',
    'service.runtimeDetails.context.movedBy': 'object',
    'service.runtimeDetails.context.how': 'string',
    'service.runtimeDetails.context.stillAttributed': 'boolean',

    // context: container-escape techniques
    'service.runtimeDetails.context.execPath': 'string',
    'service.runtimeDetails.context.memoryBackedFile': 'boolean',
    'service.runtimeDetails.context.memfdName': 'string',
    'service.runtimeDetails.context.unlinkedFilePath': 'string',
    'service.runtimeDetails.context.uidBefore': 'integer',
    'service.runtimeDetails.context.euidAfter': 'integer',
    'service.runtimeDetails.context.setuidFilePath': 'string',
    'service.runtimeDetails.context.workingDirectory': 'string',
    'service.runtimeDetails.context.workingDirectoryMountNamespace': 'integer',
    'service.runtimeDetails.context.processMountNamespace': 'integer',
    'service.runtimeDetails.context.fileMountNamespace': 'integer',
    'service.runtimeDetails.context.userfaultfdDevice': 'boolean',
    'service.runtimeDetails.context.userfaultfdFlags': 'integer',
    'service.runtimeDetails.context.socketServerPid': 'integer',
    'service.runtimeDetails.context.abstractSocket': 'boolean',
    'service.runtimeDetails.context.runtimeProcessPid': 'integer',
    'service.runtimeDetails.context.procLinkFollowed': 'string',
    'service.runtimeDetails.context.loadedByKernel': 'boolean',
    'service.runtimeDetails.context.requestedModule': 'string',
    'service.runtimeDetails.context.moduleSha256Unavailable': 'string',
    'service.runtimeDetails.context.blockDevice': 'string',
    'service.runtimeDetails.context.syscallAbi': 'string',
    'service.runtimeDetails.context.syscallNumber': 'integer',
    'service.runtimeDetails.context.bypassedConcern': 'string',
    'service.runtimeDetails.context.literalSecondFilePath': 'string',

    // the JSON object in service.additionalInfo.value
    'service.additionalInfo.value.agentVersion': 'string',
    'service.additionalInfo.value.hostname': 'string',
    'service.additionalInfo.value.containerInstanceArn': 'string',
    'service.additionalInfo.value.cgroupPath': 'string',
    'service.additionalInfo.value.taskResolution': 'string',
    'service.additionalInfo.value.taskId': 'string',
    'service.additionalInfo.value.taskFamily': 'string',
    'service.additionalInfo.value.taskRevision': 'string',
    'service.additionalInfo.value.taskStatus': 'string',
    'service.additionalInfo.value.dockerName': 'string',
    'service.additionalInfo.value.hostPidNamespace': 'boolean',
    'service.additionalInfo.value.hostNetwork': 'boolean',
    'service.additionalInfo.value.hostIpc': 'boolean',
    'service.additionalInfo.value.hostUts': 'boolean',
    'service.additionalInfo.value.context': 'object',
};
