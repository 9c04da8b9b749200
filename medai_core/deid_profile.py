"""The DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile (Table E.1-1) as data, and the check of
a dataset against it.

The profile names the attributes that can identify a patient and an action for each: D (replace with a dummy
value), Z (zero length), X (remove), K (keep), C (clean), U (replace the UID consistently). :data:`PROFILE` holds
the table once. :mod:`medai_core.deid` checks its allow-list against it (an allowed attribute must be one the
profile keeps, or a UID the profile replaces); :func:`profile_leaks` says where a dataset still holds what the
profile removes, which the tests run over every pydicom test file after de-identification.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["PROFILE", "ProfileAction", "profile_action", "profile_leaks"]

ProfileAction = Literal["D", "Z", "X", "K", "C", "U"]

# PS3.15 Table E.1-1, Basic Profile column, by keyword. Where the table gives a compound action (X/Z, X/D, X/Z/D,
# Z/D, X/Z/U*) the strongest applicable action is written; for medai_core.deid every action other than K and U
# means "not on the allow-list", so the distinction only documents the standard.
_PROFILE_TEXT = """
AccessionNumber Z
AcquisitionComments X
AcquisitionContextSequence X
AcquisitionDate X
AcquisitionDateTime X
AcquisitionDeviceProcessingDescription X
AcquisitionProtocolDescription X
AcquisitionTime X
AcquisitionUID U
ActualHumanPerformersSequence X
AdditionalPatientHistory X
AdmissionID X
AdmittingDate X
AdmittingDiagnosesCodeSequence X
AdmittingDiagnosesDescription X
AdmittingTime X
AffectedSOPInstanceUID X
Allergies X
AuthorObserverSequence X
BranchOfService X
CassetteID X
ClinicalTrialCoordinatingCenterName Z
ClinicalTrialProtocolEthicsCommitteeApprovalNumber Z
ClinicalTrialProtocolEthicsCommitteeName D
ClinicalTrialProtocolID D
ClinicalTrialProtocolName Z
ClinicalTrialSeriesDescription X
ClinicalTrialSeriesID X
ClinicalTrialSiteID Z
ClinicalTrialSiteName Z
ClinicalTrialSponsorName D
ClinicalTrialSubjectID D
ClinicalTrialSubjectReadingID D
ClinicalTrialTimePointDescription X
ClinicalTrialTimePointID Z
CommentsOnThePerformedProcedureStep X
ConcatenationUID U
ConfidentialityConstraintOnPatientDataDescription X
ContentCreatorIdentificationCodeSequence X
ContentCreatorName Z
ContentDate Z
ContentSequence X
ContentTime Z
ContextGroupExtensionCreatorUID U
ContrastBolusAgent D
ContributionDescription X
CountryOfResidence X
CreatorVersionUID U
CurrentPatientLocation X
CustodialOrganizationSequence X
DataSetTrailingPadding X
DerivationDescription X
DetectorID X
DeviceDescription X
DeviceSerialNumber X
DeviceUID U
DigitalSignatureUID X
DigitalSignaturesSequence X
DimensionOrganizationUID U
DischargeDiagnosisDescription X
DistributionAddress X
DistributionName X
DoseReferenceUID U
EndAcquisitionDateTime X
EthnicGroup X
ExpectedCompletionDateTime X
FailedSOPInstanceUIDList U
FiducialUID U
FillerOrderNumberImagingServiceRequest Z
FrameComments X
FrameOfReferenceUID U
GantryID X
GeneratorID X
GraphicAnnotationSequence D
HumanPerformerName X
HumanPerformerOrganization X
IconImageSequence X
IdentifyingComments X
ImageComments X
ImagePresentationComments X
ImagingServiceRequestComments X
Impressions X
InstanceCoercionDateTime X
InstanceCreationDate X
InstanceCreationTime X
InstanceCreatorUID U
InstitutionAddress X
InstitutionCodeSequence X
InstitutionName X
InstitutionalDepartmentName X
InstitutionalDepartmentTypeCodeSequence X
InsurancePlanIdentification X
IntendedRecipientsOfResultsIdentificationSequence X
InterpretationApproverSequence X
InterpretationAuthor X
InterpretationDiagnosisDescription X
InterpretationIDIssuer X
InterpretationRecorder X
InterpretationText X
InterpretationTranscriber X
IrradiationEventUID U
IssuerOfAdmissionID X
IssuerOfPatientID X
IssuerOfServiceEpisodeID X
LargePaletteColorLookupTableUID U
LastMenstrualDate X
MAC X
MediaStorageSOPInstanceUID U
MedicalAlerts X
MedicalRecordLocator X
MilitaryRank X
ModifiedAttributesSequence X
ModifiedImageDescription X
ModifyingDeviceID X
NameOfPhysiciansReadingStudy X
NamesOfIntendedRecipientsOfResults X
ObservationUID U
Occupation X
OperatorIdentificationSequence X
OperatorsName X
OrderCallbackPhoneNumber X
OrderCallbackTelecomInformation X
OrderEnteredBy X
OrderEntererLocation X
OriginalAttributesSequence X
OtherPatientIDs X
OtherPatientIDsSequence X
OtherPatientNames X
OverlayComments X
OverlayData X
OverlayDate X
OverlayTime X
PaletteColorLookupTableUID U
ParticipantSequence X
PatientAddress X
PatientAge X
PatientBirthDate Z
PatientBirthDateInAlternativeCalendar X
PatientBirthName X
PatientBirthTime X
PatientComments X
PatientDeathDateInAlternativeCalendar X
PatientID Z
PatientInstitutionResidence X
PatientInsurancePlanCodeSequence X
PatientMotherBirthName X
PatientName Z
PatientPrimaryLanguageCodeSequence X
PatientPrimaryLanguageModifierCodeSequence X
PatientReligiousPreference X
PatientSex Z
PatientSexNeutered X
PatientSize X
PatientState X
PatientTelecomInformation X
PatientTelephoneNumbers X
PatientTransportArrangements X
PatientWeight X
PerformedLocation X
PerformedProcedureStepDescription X
PerformedProcedureStepEndDate X
PerformedProcedureStepEndDateTime X
PerformedProcedureStepEndTime X
PerformedProcedureStepID X
PerformedProcedureStepStartDate X
PerformedProcedureStepStartDateTime X
PerformedProcedureStepStartTime X
PerformedStationAETitle X
PerformedStationGeographicLocationCodeSequence X
PerformedStationName X
PerformedStationNameCodeSequence X
PerformingPhysicianIdentificationSequence X
PerformingPhysicianName X
PersonAddress X
PersonIdentificationCodeSequence D
PersonName D
PersonTelecomInformation X
PersonTelephoneNumbers X
PhysicianApprovingInterpretation X
PhysiciansOfRecord X
PhysiciansOfRecordIdentificationSequence X
PhysiciansReadingStudyIdentificationSequence X
PlacerOrderNumberImagingServiceRequest Z
PlateID X
PreMedication X
PregnancyStatus X
PresentationDisplayCollectionUID U
PresentationSequenceCollectionUID U
ProtocolName X
ROIDescription X
ROIGenerationDescription X
ROIInterpreter Z
RTPlanDate X
RTPlanDescription X
RTPlanLabel D
RTPlanName X
RTPlanTime X
ReasonForStudy X
ReasonForTheImagingServiceRequest X
ReferencedDigitalSignatureSequence X
ReferencedFrameOfReferenceUID U
ReferencedGeneralPurposeScheduledProcedureStepTransactionUID U
ReferencedImageSequence X
ReferencedObservationUIDTrial U
ReferencedPatientAliasSequence X
ReferencedPatientPhotoSequence X
ReferencedPatientSequence X
ReferencedPerformedProcedureStepSequence X
ReferencedSOPInstanceMACSequence X
ReferencedSOPInstanceUID U
ReferencedSOPInstanceUIDInFile U
ReferencedStudySequence X
ReferringPhysicianAddress X
ReferringPhysicianIdentificationSequence X
ReferringPhysicianName Z
ReferringPhysicianTelephoneNumbers X
RegionOfResidence X
RelatedFrameOfReferenceUID U
RequestAttributesSequence X
RequestedContrastAgent X
RequestedProcedureComments X
RequestedProcedureDescription X
RequestedProcedureID X
RequestedProcedureLocation X
RequestedSOPInstanceUID U
RequestingPhysician X
RequestingService X
RequestingServiceCodeSequence X
ResponsibleOrganization X
ResponsiblePerson X
ResultsComments X
ResultsDistributionListSequence X
ResultsIDIssuer X
ReviewDate X
ReviewTime X
ReviewerName X
ScheduledHumanPerformersSequence X
ScheduledPatientInstitutionResidence X
ScheduledPerformingPhysicianIdentificationSequence X
ScheduledPerformingPhysicianName X
ScheduledProcedureStepDescription X
ScheduledProcedureStepEndDate X
ScheduledProcedureStepEndTime X
ScheduledProcedureStepLocation X
ScheduledProcedureStepStartDate X
ScheduledProcedureStepStartTime X
ScheduledStationAETitle X
ScheduledStationGeographicLocationCodeSequence X
ScheduledStationName X
ScheduledStationNameCodeSequence X
ScheduledStudyLocation X
ScheduledStudyLocationAETitle X
SeriesDate X
SeriesDescription X
SeriesInstanceUID U
SeriesTime X
ServiceEpisodeDescription X
ServiceEpisodeID X
SmokingStatus X
SOPInstanceUID U
SourceFrameOfReferenceUID U
SourceImageSequence X
SpecialNeeds X
SpecimenUID U
StationName X
StorageMediaFileSetUID U
StructureSetDate X
StructureSetDescription X
StructureSetLabel D
StructureSetName X
StructureSetTime X
StudyComments X
StudyDate Z
StudyDescription X
StudyID Z
StudyIDIssuer X
StudyInstanceUID U
StudyTime Z
SynchronizationFrameOfReferenceUID U
TargetUID U
TemplateExtensionCreatorUID U
TemplateExtensionOrganizationUID U
TextComments X
TextString X
TimezoneOffsetFromUTC X
TopicAuthor X
TopicKeywords X
TopicSubject X
TopicTitle X
TrackingUID U
TransactionUID U
TreatmentDate X
TreatmentTime X
UID U
VerifyingObserverIdentificationCodeSequence Z
VerifyingObserverName D
VerifyingObserverSequence D
VerifyingOrganization X
VisitComments X
"""


def _parse_profile(text: str) -> dict[str, ProfileAction]:
    table: dict[str, ProfileAction] = {}
    for line in text.strip().splitlines():
        keyword, action = line.split()
        if action not in ("D", "Z", "X", "K", "C", "U"):
            raise ValueError(f"profile row {line!r}: unknown action {action!r}")
        table[keyword] = action  # type: ignore[assignment]
    return table


PROFILE: dict[str, ProfileAction] = _parse_profile(_PROFILE_TEXT)
"""PS3.15 Table E.1-1 (Basic Profile): keyword -> action. Private tags, curves (50xx) and overlay data, comments,
dates and times (60xx) are X in the profile too; they are never on the allow-list."""


def profile_action(keyword: str) -> ProfileAction | None:
    """The profile's action for ``keyword``, or None where the table does not name it."""
    return PROFILE.get(keyword)


def _walk(ds: Dataset, path: str = "") -> Iterator[tuple[str, str, str, object]]:
    """(path, keyword, VR, value) of every element at every depth; private ones as ``private (gggg,eeee)``."""
    for elem in ds:
        keyword = f"private {elem.tag}" if elem.tag.is_private else (elem.keyword or f"unknown {elem.tag}")
        where = f"{path}{keyword}"
        yield where, keyword, str(elem.VR), elem.value
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value):
                yield from _walk(item, f"{where}[{index}].")


def profile_leaks(ds: Dataset, original_uids: frozenset[str] = frozenset()) -> list[str]:
    """Where ``ds`` still holds what the profile removes: a profile attribute with a value (other than a
    replaced UID), a private element, a date/time, or one of ``original_uids``, at any depth.

    Returns:
        One ``"path: reason"`` string per leak; empty for a clean dataset.
    """
    leaks: list[str] = []
    metas = [("file_meta.", getattr(ds, "file_meta", None))]
    for prefix, source in [("", ds), *metas]:
        if source is None:
            continue
        for where, keyword, vr, value in _walk(source, prefix):
            action = PROFILE.get(keyword)
            text = "" if value is None else str(value)
            if keyword.startswith("private "):
                leaks.append(f"{where}: private element")
            elif vr in ("DA", "DT", "TM", "PN") and text:
                leaks.append(f"{where}: a {vr} value is present")
            elif action == "U":
                values = value if isinstance(value, list) else [value]
                if any(str(v) in original_uids for v in values):
                    leaks.append(f"{where}: original UID kept")
            elif action is not None and action != "K" and text not in ("", "[]", "<Sequence, length 0>"):
                leaks.append(f"{where}: profile action {action} but a value is present")
    return leaks
